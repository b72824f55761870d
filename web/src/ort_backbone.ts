/**
 * backend: 'ort' — onnxruntime-web (an optional peer dependency) runs the
 * backbone; the core still preprocesses (same arithmetic as 'native') and
 * runs ICIIA and the history on the features it returns. For models the
 * core's engine cannot run, or to compare the two.
 */
import { ModelFormatError, IciiaError } from './errors.js';
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

  static async create(model: Uint8Array, manifest: BundleManifestJson, ort?: OrtModule): Promise<OrtBackbone> {
    let mod = ort;
    if (!mod) {
      try {
        const name = 'onnxruntime-web';  // a variable: bundlers must not insist on the optional dependency
        mod = (await import(/* @vite-ignore */ name)) as OrtModule;
      } catch (e) {
        throw new IciiaError(
          `backend 'ort' needs the optional peer dependency onnxruntime-web (npm install onnxruntime-web), or pass it as options.ort: ${(e as Error).message}`,
          'MissingDependency',
        );
      }
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
    if (!this.#session) throw new IciiaError('ort backbone used after dispose()', 'Disposed');
    const out = await this.#session.run({ [this.#input]: new this.#ort.Tensor('float32', input, this.#dims) }, [this.#features, this.#logits]);
    return { features: out[this.#features].data as Float32Array, logits: out[this.#logits].data as Float32Array };
  }

  async dispose(): Promise<void> {
    const s = this.#session;
    this.#session = null;
    await s?.release();
  }
}
