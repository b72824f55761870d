/**
 * backend: 'ort' — onnxruntime-web runs the backbone; the core still
 * preprocesses (same arithmetic as 'native') and runs ICIIA and the history
 * on the features it returns. For models the core's engine cannot run, or to
 * compare the two. The caller passes the onnxruntime-web module
 * (`import * as ort from 'onnxruntime-web'`): the package never imports it,
 * so a bundler never looks for a package the app did not install.
 */
import { DisposedError, IciiaError, ModelFormatError } from './errors.js';
import type { BundleManifestJson } from './bundle_source.js';

/** The parts of onnxruntime-web this uses. */
export interface OrtModule {
  InferenceSession: {
    create(model: Uint8Array, options?: object): Promise<OrtSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>, fetches?: readonly string[]): Promise<Record<string, { data: unknown }>>;
  release(): Promise<void>;
}

export class OrtBackbone {
  #session: OrtSession | null;
  readonly #ort: OrtModule;
  readonly #input: string;
  readonly #features: string;
  readonly #logits: string;
  readonly #dims: number[];

  private constructor(ort: OrtModule, session: OrtSession, manifest: BundleManifestJson) {
    this.#ort = ort;
    this.#session = session;
    this.#input = manifest.backbone.input;
    this.#features = manifest.backbone.features;
    this.#logits = manifest.backbone.logits;
    const pre = manifest.backbone.preprocess as { size: [number, number]; channels: number };
    this.#dims = [1, pre.channels, pre.size[0], pre.size[1]];
  }

  static async create(model: Uint8Array, manifest: BundleManifestJson, ort: OrtModule | undefined): Promise<OrtBackbone> {
    const mod = ort;
    if (!mod || typeof mod.InferenceSession?.create !== 'function' || typeof mod.Tensor !== 'function') {
      throw new IciiaError(
        "backend 'ort' needs onnxruntime-web passed as options.ort: npm install onnxruntime-web, then " +
        "createRecognizer({ ..., backend: 'ort', ort: await import('onnxruntime-web') })" +
        (mod ? ' (the object given has no InferenceSession.create or Tensor)' : ''),
        'MissingDependency',
      );
    }
    const session = await mod.InferenceSession.create(model, { executionProviders: ['wasm'] });
    for (const name of [manifest.backbone.features, manifest.backbone.logits]) {
      if (!session.outputNames.includes(name)) {
        await session.release();
        throw new ModelFormatError(
          `backend 'ort': '${name}' is not a graph output of ${manifest.backbone.file} (outputs: ${session.outputNames.join(', ')}); onnxruntime returns graph outputs only`,
          'Unsupported',
        );
      }
    }
    return new OrtBackbone(mod, session, manifest);
  }

  async run(input: Float32Array): Promise<{ features: Float32Array; logits: Float32Array }> {
    if (!this.#session) throw new DisposedError("backend 'ort' (onnxruntime-web session)");
    const out = await this.#session.run({ [this.#input]: new this.#ort.Tensor('float32', input, this.#dims) }, [this.#features, this.#logits]);
    return { features: out[this.#features].data as Float32Array, logits: out[this.#logits].data as Float32Array };
  }

  async dispose(): Promise<void> {
    const s = this.#session;
    this.#session = null;
    await s?.release();
  }
}
