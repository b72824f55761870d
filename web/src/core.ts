/**
 * The WebAssembly core's Embind interface as TypeScript sees it: what
 * wasm/bindings.cpp and wasm/recognizer_bindings.cpp register. Written by
 * hand; tests/node/core_interface.test.mjs compares it with the module's
 * actual prototypes. Loading the module is web/src/loader.ts.
 */
export { loadCore, type WasmOptions } from './loader.js';

/** The raw Embind module. Internal: use the classes of this package. */
export interface CoreModule {
  Model: {
    fromBytes(bytes: Uint8Array): CoreModel;
  };
  Session: new (model: CoreModel, capacity: number) => CoreSession;
  Backbone: {
    fromBytes(bytes: Uint8Array, options: { inputDims?: number[]; tensors?: string[]; threads?: number }): CoreBackbone;
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
        /** Negative for the default; 0 turns the shift gate off. */
        shiftLevel: number;
        /** The IndexedDB durability hint of commits. */
        durability: 'strict' | 'relaxed';
        /** The backbone's threads (1 unless the module is the threads build). */
        threads: number;
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
  attentionSeq: Float64Array;
  /** Adaptation 'prior' only. */
  prior?: Float32Array;
  priorIterations?: number;
  /** The shift gate's test, when it ran. */
  shift?: { statistic: number; threshold: number };
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
  shiftLevel: number;
  /** Threads the core's backbone runs on (1 with backend 'ort'). */
  threads: number;
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
  info(): {
    inputName: string;
    inputDims: number[];
    readable: string[];
    macs: number;
    steps: number;
    arenaBytes: number;
    threads: number;
  };
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
