/**
 * The ICIIA module over the WebAssembly core: a model (weights) and sessions
 * (one client's history each). Both hold wasm memory: call dispose().
 */
import { core, DisposedError, InvalidArgumentError } from './errors.js';
import {
  loadCore,
  type CoreConfig,
  type CoreModel,
  type CoreModule,
  type CoreSession,
  type WasmOptions,
} from './core.js';

export type IciiaConfig = Readonly<CoreConfig>;

export interface QueryOptions {
  /** Also return the attention weights over the history (oldest first). Default false. */
  attention?: boolean;
  /** Remember the feature afterwards, reusing the k/v just computed. Default false. */
  append?: boolean;
}

export interface QueryResult {
  /** numClasses logits of the target. */
  logits: Float32Array;
  /** One weight per history entry, oldest first, averaged over heads and layers (empty unless asked). */
  attention: Float32Array;
}

function toFloat32(x: ArrayLike<number>, what: string): Float32Array {
  if (x instanceof Float32Array) return x;
  if (x === null || typeof x !== 'object' || typeof (x as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${what}: expected a Float32Array or an array of numbers, got ${x === null ? 'null' : typeof x}`);
  }
  return Float32Array.from(x);
}

/** ICIIA weights loaded into the core (safetensors, the PyTorch state_dict names of docs/design.md, "Weights file"). */
export class IciiaModel {
  #handle: CoreModel | null;
  /** @internal */
  readonly core: CoreModule;
  readonly config: IciiaConfig;

  private constructor(module: CoreModule, handle: CoreModel) {
    this.core = module;
    this.#handle = handle;
    this.config = Object.freeze(handle.config());
  }

  /** Loads a weights file. Throws ModelFormatError naming the tensor or key at fault. */
  static async load(weights: ArrayBuffer | Uint8Array, options: WasmOptions = {}): Promise<IciiaModel> {
    if (!(weights instanceof Uint8Array) && !(weights instanceof ArrayBuffer)) {
      throw new TypeError('IciiaModel.load: expected the weights file as an ArrayBuffer or Uint8Array');
    }
    const m = await loadCore(options);
    const bytes = weights instanceof Uint8Array ? weights : new Uint8Array(weights);
    return new IciiaModel(m, core(() => m.Model.fromBytes(bytes)));
  }

  /** @internal */
  get handle(): CoreModel {
    if (!this.#handle) throw new DisposedError('IciiaModel');
    return this.#handle;
  }

  /** Logits of every position of one sequence (seqLen x dim values), the paper's semantics. */
  forward(sequence: ArrayLike<number>, seqLen: number): Float32Array {
    const x = toFloat32(sequence, 'IciiaModel.forward');
    if (!Number.isInteger(seqLen) || seqLen < 1) {
      throw new InvalidArgumentError(`IciiaModel.forward: seqLen must be a positive integer, got ${seqLen}`);
    }
    return core(() => this.handle.forward(x, seqLen));
  }

  /** Frees the weights. Sessions made from this model keep their own reference and stay usable. */
  dispose(): void {
    this.#handle?.delete();
    this.#handle = null;
  }
}

/** One client's history and incremental inference over it (k/v cached where exact). */
export class IciiaSession {
  #handle: CoreSession | null;

  private constructor(handle: CoreSession) {
    this.#handle = handle;
  }

  /**
   * A session over `model` holding up to `capacity` (default 64) features.
   * Asynchronous like every factory of the package, though it loads nothing.
   */
  static async create(model: IciiaModel, options: { capacity?: number } = {}): Promise<IciiaSession> {
    if (!(model instanceof IciiaModel)) throw new TypeError('IciiaSession.create: expected an IciiaModel (IciiaModel.load)');
    const capacity = options.capacity ?? 64;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`IciiaSession.create: capacity must be a positive integer, got ${capacity}`);
    }
    const handle = model.handle;
    return new IciiaSession(core(() => new model.core.Session(handle, capacity)));
  }

  private get handle(): CoreSession {
    if (!this.#handle) throw new DisposedError('IciiaSession');
    return this.#handle;
  }

  /** Remembers one feature vector (dim values), evicting the oldest when full. */
  append(feature: ArrayLike<number>): void {
    const f = toFloat32(feature, 'IciiaSession.append');
    core(() => this.handle.append(f));
  }

  /** Adapted logits of one feature vector given the history. */
  query(feature: ArrayLike<number>, options: QueryOptions = {}): QueryResult {
    const f = toFloat32(feature, 'IciiaSession.query');
    return core(() => this.handle.query(f, !!options.attention, !!options.append));
  }

  /** The same answer by recomputing the whole sequence: slower; for checks and benchmarks. */
  queryRecompute(feature: ArrayLike<number>, options: Pick<QueryOptions, 'attention'> = {}): QueryResult {
    const f = toFloat32(feature, 'IciiaSession.queryRecompute');
    return core(() => this.handle.queryRecompute(f, !!options.attention));
  }

  clear(): void {
    this.handle.clear();
  }
  get size(): number {
    return this.handle.size();
  }
  get capacity(): number {
    return this.handle.capacity();
  }
  /** Whether queries use the k/v cache (causal attention, or full with one layer). */
  get cached(): boolean {
    return this.handle.cached();
  }

  dispose(): void {
    this.#handle?.delete();
    this.#handle = null;
  }
}
