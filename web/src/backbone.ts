/**
 * The backbone engine over the WebAssembly core: an ONNX image classifier
 * loaded once (shapes inferred, constants folded, BatchNorm/activations/
 * residuals fused, weights packed, one arena planned), then run any number of
 * times. Holds wasm memory: call dispose().
 */
import { core, DisposedError, InvalidArgumentError } from './errors.js';
import { loadCore, type CoreBackbone, type WasmOptions } from './core.js';

export interface BackboneOptions extends WasmOptions {
  /** Input dims (NCHW). Default: the model's, with an open batch dim set to 1. */
  inputDims?: number[];
  /** Values to keep readable after run() besides the graph outputs (e.g. the features). */
  tensors?: string[];
}

export interface BackboneInfo {
  readonly inputName: string;
  readonly inputDims: readonly number[];
  /** Names read() accepts: the graph outputs, then the requested tensors. */
  readonly readable: readonly string[];
  /** Multiply-adds of one run. */
  readonly macs: number;
  readonly steps: number;
  readonly arenaBytes: number;
  /** Threads run() uses, the caller's included (WasmOptions.threads). */
  readonly threads: number;
}

export class Backbone {
  #handle: CoreBackbone | null;
  readonly info: BackboneInfo;

  private constructor(handle: CoreBackbone) {
    this.#handle = handle;
    this.info = Object.freeze(handle.info());
  }

  /** Loads an ONNX model. Throws ModelFormatError naming the op, node and opset it cannot run. */
  static async load(model: ArrayBuffer | Uint8Array, options: BackboneOptions = {}): Promise<Backbone> {
    if (!(model instanceof Uint8Array) && !(model instanceof ArrayBuffer)) {
      throw new TypeError('Backbone.load: expected the ONNX model as an ArrayBuffer or Uint8Array');
    }
    for (const d of options.inputDims ?? []) {
      if (!Number.isInteger(d) || d < 1) throw new InvalidArgumentError(`Backbone.load: inputDims must be positive integers, got ${d}`);
    }
    const m = await loadCore(options);
    const bytes = model instanceof Uint8Array ? model : new Uint8Array(model);
    return new Backbone(core(() => m.Backbone.fromBytes(bytes, { inputDims: options.inputDims, tensors: options.tensors, threads: m.iciiaThreads })));
  }

  private get handle(): CoreBackbone {
    if (!this.#handle) throw new DisposedError('Backbone');
    return this.#handle;
  }

  /** Runs on an NCHW input of info.inputDims; returns the first graph output. */
  run(input: Float32Array): Float32Array {
    if (!(input instanceof Float32Array)) throw new TypeError('Backbone.run: expected a Float32Array (NCHW)');
    const h = this.handle;
    core(() => h.run(input));
    return core(() => h.read(this.info.readable[0]));
  }

  /** A readable value of the last run, in its ONNX (NCHW) layout. */
  read(name: string): Float32Array {
    return core(() => this.handle.read(name));
  }

  dims(name: string): number[] {
    return core(() => this.handle.dims(name));
  }

  /** Runs once, timing every step: where the time goes. */
  profile(input: Float32Array): { label: string; kind: string; macs: number; ms: number }[] {
    if (!(input instanceof Float32Array)) throw new TypeError('Backbone.profile: expected a Float32Array (NCHW)');
    return core(() => this.handle.runProfiled(input));
  }

  dispose(): void {
    this.#handle?.delete();
    this.#handle = null;
  }
}
