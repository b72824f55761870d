/**
 * Loading the WebAssembly core (build/wasm/iciia_core.{mjs,wasm}, shipped in
 * the package's `wasm/` folder). The caller may say where the `.wasm` comes
 * from; otherwise it is found next to the glue: read from disk under Node
 * (whose fetch cannot read file: URLs), fetched in pages and workers.
 */

/** Options that say where the WebAssembly binary comes from. */
export interface WasmOptions {
  /** The `.wasm` bytes themselves; wins over `wasmPaths`. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** URL prefix (folder) holding `iciia_core.mjs` and `iciia_core.wasm`. */
  wasmPaths?: string | URL;
}

/** The raw Embind module. Internal: use the classes of this package. */
export interface CoreModule {
  Model: {
    fromBytes(bytes: Uint8Array): CoreModel;
  };
  Session: new (model: CoreModel, capacity: number) => CoreSession;
  Backbone: {
    fromBytes(bytes: Uint8Array, options: { inputDims?: number[]; tensors?: string[] }): CoreBackbone;
  };
  readSafetensors(bytes: Uint8Array): {
    metadata: Record<string, string>;
    tensors: Record<string, { dtype: string; shape: number[]; data?: Float32Array }>;
  };
  Recognizer: {
    create(
      files: { manifest: string; backbone: Uint8Array; iciia?: Uint8Array },
      options: {
        database: string;
        clientId: string;
        historyCapacity: number;
        /** '' for the manifest's default. */
        adaptation: string;
        /** Negative for the default. */
        priorAlpha: number;
        onWarning?: (m: string) => void;
      },
    ): CoreRecognizer;
  };
  simdIsa(): string;
  heapStats(): { heapBytes: number; usedBytes: number };
  HEAPU8: Uint8Array;
}

/** Callback of the core's asynchronous operations. */
export type CoreCallback<T> = (error: CoreAsyncError | null, result: T) => void;
export interface CoreAsyncError {
  code: string;
  message: string;
  quota?: boolean;
}

export type CoreAdaptation = 'iciia' | 'prior' | 'none';

export interface CoreAnalysis {
  features: Float32Array;
  logits: Float32Array;
  preprocess: number;
  backbone: number;
}

export interface CoreRecognition {
  adaptation: CoreAdaptation;
  top: { index: number; score: number }[];
  baseline: { index: number; score: number }[];
  attention: Float32Array;
  attentionSeq: number[];
  /** Adaptation 'prior' only. */
  prior?: Float32Array;
  priorIterations?: number;
  seq: number | undefined;
  historySize: number;
  /** Milliseconds: catching up with storage, and the adaptation. */
  sync: number;
  adapt: number;
}

export interface CoreRecognizerInfo {
  fingerprint: string;
  historyFingerprint: string;
  dim: number;
  numClasses: number;
  capacity: number;
  name: string;
  labels: string[];
  inputSize: [number, number];
  inputChannels: number;
  adaptation: CoreAdaptation;
  adaptations: CoreAdaptation[];
  priorAlpha: number;
  /** With ICIIA weights only. */
  attention?: 'full' | 'causal';
  cached?: boolean;
}

export interface CoreRecognizer {
  info(): CoreRecognizerInfo;
  preprocess(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: number): Float32Array;
  analyze(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: number): CoreAnalysis;
  /** `answered` once the answer is computed; with remember, `committed` (seq) once the record is durable or failed. */
  recognize(
    features: Float32Array,
    logits: Float32Array,
    options: { remember: boolean; topK: number; timestamp: number },
    answered: CoreCallback<CoreRecognition>,
    committed: CoreCallback<number>,
  ): void;
  setAdaptation(mode: string): void;
  /** True while holding the client's lock after a sync under it: syncs then read nothing. */
  hold(held: boolean): void;
  sync(callback: CoreCallback<undefined>): void;
  /** Once no record waits for its transaction. */
  drain(callback: CoreCallback<undefined>): void;
  historySize(): number;
  clear(callback: CoreCallback<undefined>): void;
  exportHistory(callback: CoreCallback<Uint8Array>): void;
  importHistory(bytes: Uint8Array, callback: CoreCallback<number>): void;
  delete(): void;
}

export interface CoreModel {
  config(): CoreConfig;
  forward(x: Float32Array, seqLen: number): Float32Array;
  delete(): void;
}

export interface CoreConfig {
  dim: number;
  numClasses: number;
  numHeads: number;
  numLayers: number;
  numPartitions: number;
  shuffle: boolean;
  attention: 'full' | 'causal';
  workDim: number;
}

export interface CoreBackbone {
  run(input: Float32Array): void;
  read(name: string): Float32Array;
  dims(name: string): number[];
  info(): { inputName: string; inputDims: number[]; readable: string[]; macs: number; steps: number; arenaBytes: number };
  runProfiled(input: Float32Array): { label: string; kind: string; macs: number; ms: number }[];
  delete(): void;
}

export interface CoreSession {
  append(feature: Float32Array): void;
  query(feature: Float32Array, attention: boolean, append: boolean): { logits: Float32Array; attention: Float32Array };
  queryRecompute(feature: Float32Array, attention: boolean): { logits: Float32Array; attention: Float32Array };
  clear(): void;
  size(): number;
  capacity(): number;
  cached(): boolean;
  delete(): void;
}

const isNode = typeof process === 'object' && !!process.versions?.node;

function folderUrl(options: WasmOptions): URL {
  if (options.wasmPaths !== undefined) {
    const s = String(options.wasmPaths);
    return new URL(s.endsWith('/') ? s : s + '/', isNode ? `file://${process.cwd()}/` : globalThis.location?.href);
  }
  return new URL('../wasm/', import.meta.url);
}

const cache = new Map<string, Promise<CoreModule>>();

/**
 * Loads (once per location) the WebAssembly core. Checks first that the
 * engine supports SIMD128, which the build requires, and says so if not.
 */
export function loadCore(options: WasmOptions = {}): Promise<CoreModule> {
  const folder = folderUrl(options);
  const key = options.wasmBinary ? '' : folder.href;
  if (!options.wasmBinary) {
    const hit = cache.get(key);
    if (hit) return hit;
  }
  const promise = instantiate(folder, options);
  if (!options.wasmBinary) {
    cache.set(key, promise);
    promise.catch(() => cache.delete(key));
  }
  return promise;
}

// The smallest module using a v128 instruction: (func (result v128) v128.const 0).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
]);

async function instantiate(folder: URL, options: WasmOptions): Promise<CoreModule> {
  if (!WebAssembly.validate(SIMD_PROBE)) {
    throw new Error('iciia-web: this JavaScript engine has no WebAssembly SIMD128 support, which the core needs');
  }
  let wasmBinary = options.wasmBinary;
  if (!wasmBinary && isNode) {
    const { readFile } = await import('node:fs/promises');
    wasmBinary = await readFile(new URL('iciia_core.wasm', folder));
  }
  const glue = await import(/* @vite-ignore */ new URL('iciia_core.mjs', folder).href);
  const factory = glue.default as (opts: object) => Promise<CoreModule>;
  return factory({
    ...(wasmBinary ? { wasmBinary: wasmBinary instanceof Uint8Array ? wasmBinary : new Uint8Array(wasmBinary) } : {}),
    locateFile: (path: string) => new URL(path, folder).href,
  });
}
