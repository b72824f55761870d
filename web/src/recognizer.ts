/**
 * The recognizer: one model bundle, one client's history.
 *
 *   const rec = await createRecognizer({ model: '/models/fashion-mnist/', clientId: 'u1' });
 *   const r = await rec.recognize(imageBitmap);   // r.top (adapted), r.baseline, r.attention
 *
 * Images are preprocessed and run through the backbone in WebAssembly; ICIIA
 * attends over the features of this client's earlier images, which live in
 * IndexedDB (one record per image, never pixels). Nothing leaves the device.
 *
 * Operations of one recognizer run one at a time, in call order; operations
 * on the same client from other recognizers (other tabs, workers) are
 * serialised with a Web Lock, so no record is lost or written twice.
 */
import { core, DisposedError, fromCoreError, IciiaError, InvalidArgumentError, StorageError } from './errors.js';
import { loadCore, type CoreAsyncError, type CoreCallback, type CoreRecognition, type CoreRecognizer, type WasmOptions } from './core.js';
import { loadBundle, type BundleFiles, type BundleManifestJson, type LoadProgress } from './bundle_source.js';
import { toPixels, type ImageInput, type RawImage } from './image.js';
import { withLock } from './lock.js';
import { OrtBackbone, type OrtModule } from './ort_backbone.js';

export interface RecognizerOptions extends WasmOptions {
  /** URL prefix of the bundle (folder with manifest.json; in Node also a path), or its files in memory. */
  model: string | URL | BundleFiles;
  /** Whose history this is: records are kept per client id. */
  clientId: string;
  /** Records kept (FIFO). Default: the manifest's history.capacity. */
  historyCapacity?: number;
  /** 'native' (default): the core's engine runs the backbone. 'ort': onnxruntime-web does. */
  backend?: 'native' | 'ort';
  /** The onnxruntime-web module, needed by backend 'ort' (`await import('onnxruntime-web')`); the package never imports it. */
  ort?: OrtModule;
  /** Called while the bundle downloads. */
  onProgress?: (progress: LoadProgress) => void;
  /** IndexedDB database name. Default 'iciia-web'. */
  database?: string;
  /** Called for what is skipped rather than fatal (a corrupt stored record). Default: console.warn. */
  onWarning?: (message: string) => void;
}

export interface RecognizeOptions {
  /** Append this image's features to the history (default true). */
  remember?: boolean;
  /** How many classes to return (default 5). */
  topK?: number;
}

export interface Prediction {
  label: string;
  index: number;
  /** Softmax probability. */
  score: number;
}

export interface AttentionEntry {
  /** Position in the history before this image, 0 = oldest. */
  historyIndex: number;
  /** Stable id of that history record (the `seq` it got when remembered). */
  seq: number;
  weight: number;
}

export interface RecognizeResult {
  /** Adapted to this client (ICIIA over the history). */
  top: Prediction[];
  /** The backbone alone. */
  baseline: Prediction[];
  /** Attention of the decision over the history before this image. */
  attention: AttentionEntry[];
  /** This image's record id, when remembered. */
  seq?: number;
  /** History size after this call. */
  historySize: number;
  /** Milliseconds per stage. */
  timings: { preprocess: number; backbone: number; iciia: number; store: number };
}

export interface History {
  /** Records held (after catching up with other tabs). */
  size(): Promise<number>;
  /** Deletes this client's records (for this model and any other). */
  clear(): Promise<void>;
  /** The records, in the versioned binary format "iciia-history/1" (docs/design.md, "History store"). */
  export(): Promise<Uint8Array>;
  /** Appends exported records (same model only); resolves to how many were read. */
  import(data: Uint8Array | ArrayBuffer | Blob): Promise<number>;
}

const MAX_CAPACITY = 65536;

function checkOptions(options: RecognizerOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('createRecognizer: expected an options object');
  const { clientId, historyCapacity, backend } = options;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 256) {
    throw new TypeError('createRecognizer: clientId must be a non-empty string of at most 256 characters');
  }
  if (historyCapacity !== undefined && (!Number.isInteger(historyCapacity) || historyCapacity < 1 || historyCapacity > MAX_CAPACITY)) {
    throw new InvalidArgumentError(`createRecognizer: historyCapacity must be an integer in [1, ${MAX_CAPACITY}], got ${String(historyCapacity)}`);
  }
  if (backend !== undefined && backend !== 'native' && backend !== 'ort') {
    throw new TypeError(`createRecognizer: backend must be 'native' or 'ort', got ${String(backend)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new TypeError('createRecognizer: onProgress must be a function');
  if (options.database !== undefined && (typeof options.database !== 'string' || !options.database)) {
    throw new TypeError('createRecognizer: database must be a non-empty string');
  }
}

function asyncError(e: CoreAsyncError): Error {
  if (e.code === 'StorageError') return new StorageError(e.message, !!e.quota);
  const err = Object.assign(new Error(e.message), { code: e.code });
  return fromCoreError(err);
}

/** Calls a callback-style core operation; resolves or rejects with a typed error. */
function call<T>(start: (cb: CoreCallback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((error, result) => (error ? reject(asyncError(error)) : resolve(result)));
    } catch (e) {
      reject(fromCoreError(e));
    }
  });
}

type RecognizerParts = [handle: CoreRecognizer, manifest: BundleManifestJson, options: RecognizerOptions, ort: OrtBackbone | null];
let newRecognizer: (...parts: RecognizerParts) => Recognizer;

export class Recognizer {
  readonly clientId: string;
  readonly labels: readonly string[];
  /** Hex sha256 over both weight files: history records are tagged with it. */
  readonly fingerprint: string;
  readonly manifest: Readonly<BundleManifestJson>;
  readonly historyCapacity: number;
  readonly backend: 'native' | 'ort';
  readonly history: History;

  #handle: CoreRecognizer | null;
  #ort: OrtBackbone | null;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #disposed = false;
  readonly #lockName: string;

  // createRecognizer() is the one way to make one (the constructor is private; this hands it out).
  static {
    newRecognizer = (...parts) => new Recognizer(...parts);
  }

  private constructor(...[handle, manifest, options, ort]: RecognizerParts) {
    const info = handle.info();
    this.#handle = handle;
    this.#ort = ort;
    this.clientId = options.clientId;
    this.labels = Object.freeze([...info.labels]);
    this.fingerprint = info.fingerprint;
    this.manifest = Object.freeze(manifest);
    this.historyCapacity = info.capacity;
    this.backend = ort ? 'ort' : 'native';
    this.#lockName = `iciia-web:${options.database ?? 'iciia-web'}:${options.clientId}`;
    this.history = Object.freeze({
      size: () => this.#run('history.size', (h) => call<undefined>((cb) => h.sync(cb)).then(() => h.historySize())),
      clear: () => this.#run('history.clear', (h) => call<undefined>((cb) => h.clear(cb))),
      export: () => this.#run('history.export', (h) => call<Uint8Array>((cb) => h.exportHistory(cb))),
      import: (data: Uint8Array | ArrayBuffer | Blob) => {
        const bytes = Recognizer.#importBytes(data);
        return this.#run('history.import', async (h) => {
          const data = await bytes;
          return call<number>((cb) => h.importHistory(data, cb));
        });
      },
    });
  }

  static async #importBytes(data: unknown): Promise<Uint8Array> {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (typeof Blob === 'function' && data instanceof Blob) return new Uint8Array(await data.arrayBuffer());
    throw new TypeError('history.import: expected a Uint8Array, ArrayBuffer or Blob of an export');
  }

  #handleOrThrow(what: string): CoreRecognizer {
    if (this.#disposed || !this.#handle) throw new DisposedError(`Recognizer (${what})`);
    return this.#handle;
  }

  /**
   * Queues an operation: after the previous ones, under the client's
   * cross-tab lock. Throws DisposedError synchronously once disposed.
   */
  #run<T>(what: string, op: (h: CoreRecognizer) => Promise<T> | T): Promise<T> {
    const h = this.#handleOrThrow(what);
    this.#pending++;
    const result = this.#queue.then(() =>
      withLock(this.#lockName, async () => {
        if (!this.#handle) throw new DisposedError(`Recognizer (${what})`);
        return op(h);
      }),
    );
    this.#queue = result.then(
      () => this.#settle(),
      () => this.#settle(),
    );
    return result;
  }

  #settle(): void {
    if (--this.#pending === 0 && this.#disposed) this.#free();
  }

  #free(): void {
    this.#handle?.delete();
    this.#handle = null;
    void this.#ort?.dispose();
    this.#ort = null;
  }

  #result(r: CoreRecognition): RecognizeResult {
    const label = (p: { index: number; score: number }): Prediction => ({ label: this.labels[p.index] ?? String(p.index), index: p.index, score: p.score });
    return {
      top: r.top.map(label),
      baseline: r.baseline.map(label),
      attention: Array.from(r.attention, (weight, i) => ({ historyIndex: i, seq: r.attentionSeq[i], weight })),
      ...(r.seq === undefined ? {} : { seq: r.seq }),
      historySize: r.historySize,
      timings: r.timings,
    };
  }

  /**
   * Recognizes one image. Resolves once the answer is computed and, with
   * `remember` (the default), its features are stored in IndexedDB.
   */
  recognize(image: ImageInput, options: RecognizeOptions = {}): Promise<RecognizeResult> {
    this.#handleOrThrow('recognize');
    return this.#recognizePixels(toPixels(image, 'recognize'), this.#options(options, 'recognize'));
  }

  /** Recognizes images in order (each one sees the ones before it when remembered). */
  recognizeBatch(images: readonly ImageInput[], options: RecognizeOptions = {}): Promise<RecognizeResult[]> {
    this.#handleOrThrow('recognizeBatch');
    if (!Array.isArray(images)) throw new TypeError('recognizeBatch: expected an array of images');
    // Convert and check all first: a bad image in the middle must not leave half a batch stored.
    const pixels = images.map((img, i) => toPixels(img, `recognizeBatch[${i}]`));
    const opts = this.#options(options, 'recognizeBatch');
    return Promise.all(pixels.map((p) => this.#recognizePixels(p, opts)));
  }

  #options(options: RecognizeOptions, what: string): { remember: boolean; topK: number; timestamp: number } {
    if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: options must be an object`);
    const topK = options.topK ?? 5;
    if (!Number.isInteger(topK) || topK < 1) throw new InvalidArgumentError(`${what}: topK must be a positive integer, got ${String(topK)}`);
    return { remember: options.remember ?? true, topK, timestamp: Date.now() };
  }

  #recognizePixels(pixels: RawImage, opts: { remember: boolean; topK: number; timestamp: number }): Promise<RecognizeResult> {
    return this.#run('recognize', async (h) => {
      let r: CoreRecognition;
      if (this.#ort) {
        const t0 = performance.now();
        const input = core(() => h.preprocess(pixels.data, pixels.width, pixels.height, pixels.channels));
        const t1 = performance.now();
        const { features, logits } = await this.#ort.run(input);
        const t2 = performance.now();
        r = await call<CoreRecognition>((cb) => h.recognizeFeatures(features, logits, { ...opts, timestamp: Date.now() }, cb));
        r.timings.preprocess = t1 - t0;
        r.timings.backbone = t2 - t1;
      } else {
        r = await call<CoreRecognition>((cb) =>
          h.recognizeImage(pixels.data, pixels.width, pixels.height, pixels.channels, { ...opts, timestamp: Date.now() }, cb),
        );
      }
      return this.#result(r);
    });
  }

  /** Resolves once every operation called so far has finished (and is durable). */
  flush(): Promise<void> {
    this.#handleOrThrow('flush');
    return this.#queue.then(() => undefined);
  }

  /** Frees the WebAssembly memory once pending operations finish. Later calls throw DisposedError. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#pending === 0) this.#free();
  }

  get disposed(): boolean {
    return this.#disposed;
  }
}

/** Loads the bundle and the wasm core, opens the client's history, and resolves to a ready recognizer. */
export async function createRecognizer(options: RecognizerOptions): Promise<Recognizer> {
  checkOptions(options);
  const warn = options.onWarning ?? ((m: string) => console.warn(`iciia-web: ${m}`));
  const [bundle, m] = await Promise.all([loadBundle(options.model, options.onProgress), loadCore(options)]);
  const handle = core(() =>
    m.Recognizer.create(
      { manifest: bundle.manifestText, backbone: bundle.backbone, iciia: bundle.iciia },
      { database: options.database ?? 'iciia-web', clientId: options.clientId, historyCapacity: options.historyCapacity ?? 0, onWarning: warn },
    ),
  );
  let ort: OrtBackbone | null = null;
  try {
    if (options.backend === 'ort') ort = await OrtBackbone.create(bundle.backbone, bundle.manifest, options.ort);
    const rec = newRecognizer(handle, bundle.manifest, options, ort);
    await rec.history.size();  // load the history now, so the first recognize is not the slow one
    return rec;
  } catch (e) {
    handle.delete();
    await ort?.dispose();
    throw e instanceof IciiaError || e instanceof TypeError ? e : fromCoreError(e);
  }
}
