/**
 * The recognizer: one model bundle, one client's history.
 *
 *   const rec = await createRecognizer({ model: '/models/fashion-mnist/', clientId: 'u1' });
 *   const r = await rec.recognize(imageBitmap);   // r.top (adapted), r.baseline, r.attention
 *   await r.stored;                               // its record is durable
 *
 * Images are preprocessed and run through the backbone in WebAssembly; the
 * answer adapts to this client's earlier images (ICIIA attending over their
 * features, or prior correction of the backbone's posteriors: `adaptation`),
 * which live in IndexedDB (one record per image, never pixels). Nothing
 * leaves the device.
 *
 * Operations of one recognizer run one at a time, in call order. recognize()
 * resolves as soon as the answer is computed; its record's transaction
 * follows off the critical path (`stored`), and the next operation already
 * sees the record. Operations on the same client from other recognizers
 * (other tabs, workers) are serialised with a Web Lock, which a recognizer
 * keeps while it is busy and until its commits are done, so no record is
 * lost or written twice.
 */
import { core, DisposedError, fromCoreError, IciiaError, InvalidArgumentError, StorageError } from './errors.js';
import {
  loadCore,
  type CoreAdaptation,
  type CoreAnalysis,
  type CoreAsyncError,
  type CoreCallback,
  type CoreRecognition,
  type CoreRecognizer,
  type WasmOptions,
} from './core.js';
import { loadBundle, type BundleFiles, type BundleManifestJson, type LoadProgress } from './bundle_source.js';
import { toPixels, type ImageInput, type RawImage } from './image.js';
import { HeldLock } from './lock.js';
import { OrtBackbone, type OrtModule } from './ort_backbone.js';
import { persistStorage, storageUsage, type StorageUsage } from './storage.js';

/**
 * How the answer adapts to the client's history (docs/design.md, "Adaptation"):
 * 'iciia' the ICIIA module attends over the history's features (needs the
 * bundle's ICIIA weights); 'prior' EM prior correction of the backbone's
 * posteriors; 'none' the backbone alone.
 */
export type Adaptation = CoreAdaptation;
const ADAPTATIONS: readonly Adaptation[] = ['iciia', 'prior', 'none'];

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
  /**
   * The IndexedDB durability hint of each commit. 'strict' (default): a
   * record's `stored` resolves once the browser has flushed it to disk, so it
   * survives a power cut or an OS crash too. 'relaxed': once the browser has
   * it (a browser crash loses nothing, a power cut may lose the last
   * commits), which costs less on disks with slow flushes. README, "Durability".
   */
  durability?: 'strict' | 'relaxed';
  /**
   * Called for what is skipped rather than fatal (a corrupt stored record),
   * and for every record whose commit failed. Default: console.warn.
   */
  onWarning?: (message: string) => void;
  /** Default: the manifest's `adaptation.default` ('iciia' with ICIIA weights, else 'prior'). */
  adaptation?: Adaptation;
  /**
   * Prior correction's Dirichlet smoothing α per class (0: maximum likelihood).
   * Default 0.3 / C (0.3 pseudo-images spread over the C classes; 0.03 for 10 classes).
   */
  priorAlpha?: number;
  /**
   * The shift gate: the history adapts the answer only once it shows that
   * this client's class mix differs from the training population's (a
   * likelihood-ratio test at this level, docs/design.md "When to adapt");
   * until then, and for a client whose images span all classes, the backbone
   * answers (`adaptation: 'none'` in the result). 0 adapts always, as the
   * modes do on their own. Default 0.99.
   */
  shiftLevel?: number;
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
  /** The adaptation that computed `top`: 'none' also when the shift gate held. */
  adaptation: Adaptation;
  /**
   * The shift gate's test over the history and this image (absent when the
   * gate is off or the mode is 'none'): the mode answered when `statistic`
   * exceeded `threshold`.
   */
  shift?: { statistic: number; threshold: number };
  /** Adapted to this client. */
  top: Prediction[];
  /** The backbone alone. */
  baseline: Prediction[];
  /** 'iciia': attention of the decision over the history before this image (else empty). */
  attention: AttentionEntry[];
  /** 'prior': this client's class frequencies as estimated over its history and this image, one per label. */
  classPrior?: Float32Array;
  /** This image's record id, when remembered. */
  seq?: number;
  /**
   * When remembered: resolves to `seq` once the record is durable in
   * IndexedDB; rejects with a StorageError (`quota: true` on a full disk)
   * when it could not be stored, and the record is then gone from the
   * history too. Nothing needs to wait for it.
   */
  stored?: Promise<number>;
  /** History size after this call (a remembered image counts at once). */
  historySize: number;
  /**
   * Milliseconds per stage: preprocess, backbone, sync (waiting for the
   * client's lock and, when another tab may have written, reading what
   * changed), adapt (ICIIA query or prior correction).
   */
  timings: { preprocess: number; backbone: number; sync: number; adapt: number };
}

export interface History {
  /** Records held (after catching up with other tabs). */
  size(): Promise<number>;
  /** Deletes this client's records (for this model and any other); works on a full disk too. */
  clear(): Promise<void>;
  /** The durable records, in the versioned binary format "iciia-history/1" (docs/design.md, "History store"). */
  export(): Promise<Uint8Array>;
  /** Appends exported records (same model only); resolves to how many were read. */
  import(data: Uint8Array | ArrayBuffer | Blob): Promise<number>;
  /**
   * The origin's storage use and quota as the browser estimates them
   * (navigator.storage.estimate(): the whole site, not this history alone),
   * and whether it is persistent. Rejects with a StorageError where there is
   * no Storage API (Node).
   */
  usage(): Promise<StorageUsage>;
  /**
   * Asks the browser not to evict the site's storage under storage pressure
   * (navigator.storage.persist(); call it from a click); resolves to whether
   * it is persistent now. The browser decides (Firefox asks the user,
   * Chromium answers from its engagement rules without asking).
   */
  persist(): Promise<boolean>;
}

const MAX_CAPACITY = 65536;

function checkOptions(options: RecognizerOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('createRecognizer: expected an options object');
  const { clientId, historyCapacity, backend, adaptation, priorAlpha, shiftLevel } = options;
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 256) {
    throw new TypeError('createRecognizer: clientId must be a non-empty string of at most 256 characters');
  }
  if (historyCapacity !== undefined && (!Number.isInteger(historyCapacity) || historyCapacity < 1 || historyCapacity > MAX_CAPACITY)) {
    throw new InvalidArgumentError(`createRecognizer: historyCapacity must be an integer in [1, ${MAX_CAPACITY}], got ${String(historyCapacity)}`);
  }
  if (backend !== undefined && backend !== 'native' && backend !== 'ort') {
    throw new TypeError(`createRecognizer: backend must be 'native' or 'ort', got ${String(backend)}`);
  }
  if (adaptation !== undefined) checkAdaptation(adaptation, 'createRecognizer');
  if (priorAlpha !== undefined && (typeof priorAlpha !== 'number' || !Number.isFinite(priorAlpha) || priorAlpha < 0)) {
    throw new InvalidArgumentError(`createRecognizer: priorAlpha must be a finite number >= 0, got ${String(priorAlpha)}`);
  }
  if (shiftLevel !== undefined && (typeof shiftLevel !== 'number' || !(shiftLevel >= 0 && shiftLevel < 1))) {
    throw new InvalidArgumentError(`createRecognizer: shiftLevel must be 0 (always adapt) or a number in (0, 1), got ${String(shiftLevel)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new TypeError('createRecognizer: onProgress must be a function');
  if (options.database !== undefined && (typeof options.database !== 'string' || !options.database)) {
    throw new TypeError('createRecognizer: database must be a non-empty string');
  }
  if (options.durability !== undefined && options.durability !== 'strict' && options.durability !== 'relaxed') {
    throw new TypeError(`createRecognizer: durability must be 'strict' or 'relaxed', got ${String(options.durability)}`);
  }
}

function checkAdaptation(mode: unknown, what: string): asserts mode is Adaptation {
  if (!ADAPTATIONS.includes(mode as Adaptation)) {
    throw new TypeError(`${what}: adaptation must be 'iciia', 'prior' or 'none', got ${String(mode)}`);
  }
}

/**
 * How long a recognizer keeps the client's lock once idle, and at most in
 * one go while busy: long enough that a stream of images (a camera's pace)
 * does not pay the lock and a head read per image. Another tab or worker that
 * wants the lock says so (HeldLock.onWanted), and an idle holder then lets go
 * at once; a busy one after LOCK_MAX_HOLD_MS at most (Web Locks are granted
 * first come, first served).
 */
const LOCK_IDLE_MS = 500;
const LOCK_MAX_HOLD_MS = 1000;

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
  /** Hex sha256 over the bundle's weight files. */
  readonly fingerprint: string;
  /** Hex fingerprint of the backbone alone: history records are tagged with it, so they outlive a new ICIIA module. */
  readonly historyFingerprint: string;
  readonly manifest: Readonly<BundleManifestJson>;
  readonly historyCapacity: number;
  readonly backend: 'native' | 'ort';
  /** The adaptations this bundle can run ('iciia' only with ICIIA weights). */
  readonly adaptations: readonly Adaptation[];
  /** Prior correction's Dirichlet smoothing α. */
  readonly priorAlpha: number;
  /** The shift gate's level (0: off). */
  readonly shiftLevel: number;
  /**
   * Threads the backbone runs on, the caller's included (RecognizerOptions.threads;
   * 1 where threads are not possible, and with backend 'ort').
   */
  readonly threads: number;
  readonly history: History;

  #handle: CoreRecognizer | null;
  #ort: OrtBackbone | null;
  #adaptation: Adaptation;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;       // operations queued or running
  #uncommitted = 0;   // remembered records whose transaction has not completed
  #drainWaiters: (() => void)[] = [];
  #failure: StorageError | null = null;  // the first failed commit since the last flush()
  #disposed = false;
  readonly #lock: HeldLock;
  #current = false;  // the lock is held and the core's history was synced under it
  #wanted = false;   // someone else requested the lock while this recognizer held it
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #warn: (message: string) => void;

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
    this.historyFingerprint = info.historyFingerprint;
    this.manifest = Object.freeze(manifest);
    this.historyCapacity = info.capacity;
    this.backend = ort ? 'ort' : 'native';
    this.adaptations = Object.freeze([...info.adaptations]);
    this.#adaptation = info.adaptation;
    this.priorAlpha = info.priorAlpha;
    this.shiftLevel = info.shiftLevel;
    this.threads = info.threads;
    this.#warn = options.onWarning ?? ((m: string) => console.warn(`iciia-web: ${m}`));
    this.#lock = new HeldLock(`iciia-web:${options.database ?? 'iciia-web'}:${options.clientId}`);
    this.#lock.onWanted = () => {
      this.#wanted = true;
      this.#idle();
    };
    this.history = Object.freeze({
      size: () => this.#run('history.size', (h) => this.#locked(h, () => call<undefined>((cb) => h.sync(cb))).then(() => h.historySize())),
      clear: () => this.#run('history.clear', (h) => this.#locked(h, () => call<undefined>((cb) => h.clear(cb)))),
      export: () =>
        this.#run('history.export', (h) =>
          this.#locked(h, async () => {
            await call<undefined>((cb) => h.drain(cb));
            return call<Uint8Array>((cb) => h.exportHistory(cb));
          }),
        ),
      import: (data: Uint8Array | ArrayBuffer | Blob) => {
        const bytes = Recognizer.#importBytes(data);
        return this.#run('history.import', async (h) => {
          const data = await bytes;
          return this.#locked(h, () => call<number>((cb) => h.importHistory(data, cb)));
        });
      },
      usage: () => {
        this.#handleOrThrow('history.usage');
        return storageUsage();
      },
      persist: () => {
        this.#handleOrThrow('history.persist');
        return persistStorage();
      },
    });
  }

  /** The adaptation the next recognize() uses. */
  get adaptation(): Adaptation {
    return this.#adaptation;
  }

  /**
   * Switches the adaptation for the calls made after this one (earlier ones
   * keep theirs). Throws an InvalidArgumentError at once for a mode the
   * bundle cannot run ('iciia' without ICIIA weights), a TypeError for an
   * unknown one. Switching to 'iciia' rebuilds its cache over the history.
   */
  setAdaptation(mode: Adaptation): Promise<void> {
    this.#handleOrThrow('setAdaptation');
    checkAdaptation(mode, 'setAdaptation');
    if (!this.adaptations.includes(mode)) {
      throw new InvalidArgumentError(
        `setAdaptation: '${mode}' needs ICIIA weights, which bundle '${this.manifest.name ?? 'unnamed'}' does not have ` +
          `(available: ${this.adaptations.join(', ')})`,
      );
    }
    this.#adaptation = mode;
    return this.#run('setAdaptation', (h) => core(() => h.setAdaptation(mode)));
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
   * Queues an operation after the previous ones (each starts once the one
   * before it has answered, not once its commit is done). Throws
   * DisposedError synchronously once disposed.
   */
  #run<T>(what: string, op: (h: CoreRecognizer) => Promise<T> | T): Promise<T> {
    const h = this.#handleOrThrow(what);
    this.#pending++;
    clearTimeout(this.#idleTimer);
    const result = this.#queue.then(() => {
      if (!this.#handle) throw new DisposedError(`Recognizer (${what})`);
      return op(h);
    });
    this.#queue = result.then(
      () => this.#settle(),
      () => this.#settle(),
    );
    return result;
  }

  /**
   * Holds the client's lock (acquiring it unless held), runs `fn`, and once
   * `fn` has synced under the lock, tells the core its history in memory is
   * current for as long as the lock is held.
   */
  async #locked<T>(h: CoreRecognizer, fn: () => Promise<T>, acquired = this.#acquire()): Promise<T> {
    await acquired;
    const out = await fn();
    this.#markCurrent(h);
    return out;
  }

  /** After a sync under the lock: the history in memory stays current while the lock is held. */
  #markCurrent(h: CoreRecognizer): void {
    if (!this.#lock.held) return;
    h.hold(true);
    this.#current = true;
  }

  #acquire(): Promise<void> {
    clearTimeout(this.#idleTimer);
    if (this.#lock.held && this.#lock.age > LOCK_MAX_HOLD_MS) {
      // Held long enough: let other tabs' calls in, once our commits are done.
      return this.#drained().then(() => {
        this.#unlock();
        return this.#lock.acquire();
      });
    }
    return this.#lock.acquire();
  }

  #unlock(): void {
    clearTimeout(this.#idleTimer);
    this.#current = this.#wanted = false;
    if (!this.#lock.held) return;
    this.#handle?.hold(false);
    this.#lock.release();
  }

  /** Releases the lock a while after the last operation and commit, at once when it is wanted (see LOCK_IDLE_MS). */
  #idle(): void {
    if (this.#pending || this.#uncommitted || !this.#lock.held) return;
    clearTimeout(this.#idleTimer);
    if (this.#wanted) return this.#unlock();
    // Not unref'd in Node: another recognizer of this process may be waiting for the lock.
    this.#idleTimer = setTimeout(() => {
      if (!this.#pending && !this.#uncommitted) this.#unlock();
    }, LOCK_IDLE_MS);
  }

  #settle(): void {
    --this.#pending;
    this.#idle();
    this.#freeIfDone();
  }

  #freeIfDone(): void {
    if (!this.#disposed || this.#pending || this.#uncommitted) return;
    this.#unlock();
    this.#lock.close();
    this.#handle?.delete();
    this.#handle = null;
    void this.#ort?.dispose();
    this.#ort = null;
  }

  /** Resolves once no remembered record waits for its transaction. */
  #drained(): Promise<void> {
    if (!this.#uncommitted) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #committed(): void {
    if (--this.#uncommitted === 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
    this.#idle();
    this.#freeIfDone();
  }

  #result(r: CoreRecognition, a: CoreAnalysis, syncMs: number, stored: Promise<number> | undefined): RecognizeResult {
    const label = (p: { index: number; score: number }): Prediction => ({ label: this.labels[p.index] ?? String(p.index), index: p.index, score: p.score });
    return {
      adaptation: r.adaptation,
      top: r.top.map(label),
      baseline: r.baseline.map(label),
      attention: Array.from(r.attention, (weight, i) => ({ historyIndex: i, seq: r.attentionSeq[i], weight })),
      ...(r.prior ? { classPrior: r.prior } : {}),
      ...(r.shift ? { shift: r.shift } : {}),
      ...(r.seq === undefined ? {} : { seq: r.seq }),
      ...(stored ? { stored } : {}),
      historySize: r.historySize,
      timings: { preprocess: a.preprocess, backbone: a.backbone, sync: syncMs + r.sync, adapt: r.adapt },
    };
  }

  /**
   * Recognizes one image. Resolves as soon as the answer is computed; with
   * `remember` (the default) the image's record is in the history at once
   * and durable when `stored` resolves.
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

  #options(options: RecognizeOptions, what: string): { remember: boolean; topK: number } {
    if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: options must be an object`);
    const topK = options.topK ?? 5;
    if (!Number.isInteger(topK) || topK < 1) throw new InvalidArgumentError(`${what}: topK must be a positive integer, got ${String(topK)}`);
    return { remember: options.remember ?? true, topK };
  }

  #recognizePixels(pixels: RawImage, opts: { remember: boolean; topK: number }): Promise<RecognizeResult> {
    return this.#run('recognize', async (h) => {
      const analyze = async (): Promise<CoreAnalysis> => {
        if (!this.#ort) return core(() => h.analyze(pixels.data, pixels.width, pixels.height, pixels.channels));
        const t0 = performance.now();
        const input = core(() => h.preprocess(pixels.data, pixels.width, pixels.height, pixels.channels));
        const t1 = performance.now();
        const { features, logits } = await this.#ort.run(input);
        return { features, logits, preprocess: t1 - t0, backbone: performance.now() - t1 };
      };
      let a: CoreAnalysis;
      let waited: number;
      const acquired = this.#acquire();
      if (this.#current) {
        // The lock is ours and the history in memory current: nothing to read.
        a = await analyze();
        const t = performance.now();
        await acquired;
        waited = performance.now() - t;
      } else {
        // Take the lock, then read what other tabs changed while the
        // backbone (which needs no history) runs.
        const t0 = performance.now();
        await acquired;
        const t1 = performance.now();
        const synced = call<undefined>((cb) => h.sync(cb));
        synced.catch(() => {});  // awaited below, after the analysis
        a = await analyze();
        const t2 = performance.now();
        await synced;
        this.#markCurrent(h);
        waited = t1 - t0 + (performance.now() - t2);
      }
      let stored: Promise<number> | undefined;
      const r = await this.#locked(
        h,
        () =>
          call<CoreRecognition>((answered) => {
            let seq: number | undefined;
            const commit: CoreCallback<number> = (error) => {
              if (error) {
                const e = asyncError(error);
                this.#failure ??= e as StorageError;
                this.#warn(`the record of a remembered image (seq ${seq}) could not be stored: ${e.message}`);
                rejectStored(e);
              } else {
                resolveStored(seq as number);
              }
              this.#committed();
            };
            let resolveStored!: (seq: number) => void;
            let rejectStored!: (e: Error) => void;
            if (opts.remember) {
              stored = new Promise<number>((res, rej) => ((resolveStored = res), (rejectStored = rej)));
              stored.catch(() => {});  // reported through onWarning too: never an unhandled rejection
            }
            h.recognize(a.features, a.logits, { ...opts, timestamp: Date.now() }, (error, result) => {
              // A commit is owed only for an answer that staged a record.
              if (!error && result.seq !== undefined) {
                seq = result.seq;
                this.#uncommitted++;
              } else {
                stored = undefined;
              }
              answered(error, result);
            }, commit);
          }),
        acquired,
      );
      return this.#result(r, a, waited, stored);
    });
  }

  /**
   * Resolves once every operation called so far has finished and every
   * remembered record is durable; rejects with the StorageError of the first
   * record that could not be stored since the last flush().
   */
  flush(): Promise<void> {
    this.#handleOrThrow('flush');
    return this.#queue
      .then(() => this.#drained())
      .then(() => {
        const failure = this.#failure;
        this.#failure = null;
        if (failure) throw failure;
      });
  }

  /** Frees the WebAssembly memory once pending operations and commits finish. Later calls throw DisposedError. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#freeIfDone();
  }

  get disposed(): boolean {
    return this.#disposed;
  }
}

/** Loads the bundle and the wasm core, opens the client's history, and resolves to a ready recognizer. */
export async function createRecognizer(options: RecognizerOptions): Promise<Recognizer> {
  checkOptions(options);
  const warn = options.onWarning ?? ((m: string) => console.warn(`iciia-web: ${m}`));
  const [bundle, m] = await Promise.all([loadBundle(options.model, options.onProgress), loadCore(options, warn)]);
  const handle = core(() =>
    m.Recognizer.create(
      { manifest: bundle.manifestText, backbone: bundle.backbone, ...(bundle.iciia ? { iciia: bundle.iciia } : {}) },
      {
        database: options.database ?? 'iciia-web',
        clientId: options.clientId,
        historyCapacity: options.historyCapacity ?? 0,
        adaptation: options.adaptation ?? '',
        priorAlpha: options.priorAlpha ?? -1,
        shiftLevel: options.shiftLevel ?? -1,
        durability: options.durability ?? 'strict',
        threads: m.iciiaThreads,
        onWarning: warn,
      },
    ),
  );
  let ort: OrtBackbone | null = null;
  try {
    if (options.backend === 'ort') ort = await OrtBackbone.create(bundle.backbone, bundle.manifest, options.ort);
    const rec = newRecognizer(handle, bundle.manifest, { ...options, onWarning: warn }, ort);
    await rec.history.size();  // load the history now, so the first recognize is not the slow one
    return rec;
  } catch (e) {
    handle.delete();
    await ort?.dispose();
    throw e instanceof IciiaError || e instanceof TypeError ? e : fromCoreError(e);
  }
}
