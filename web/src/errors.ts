/**
 * Typed errors. Every error the package throws is one of these (or a
 * TypeError for arguments of the wrong type), so callers can tell a bad
 * model file from a bad image from a full disk: by class, or by `code`.
 */

/**
 * Every `code` an IciiaError (or InvalidArgumentError) carries. The first
 * group comes from the core (src/util/error.cpp, wasm/recognizer_bindings.cpp),
 * the rest from this package.
 */
export type IciiaErrorCode =
  | 'FormatError' // ModelFormatError: a file is malformed
  | 'ShapeError' // ModelFormatError: a tensor's shape disagrees with the configuration
  | 'Unsupported' // ModelFormatError: well-formed, but not something the core runs
  | 'LimitError' // LimitError
  | 'IoError' // IciiaError: a file could not be read
  | 'InvalidArgument' // InvalidArgumentError
  | 'StorageError' // StorageError
  | 'QuotaExceeded' // StorageError with quota = true
  | 'ModelLoad' // ModelLoadError
  | 'CoreLoad' // CoreLoadError: the WebAssembly core could not be had
  | 'NoSimd' // CoreLoadError: the engine lacks WebAssembly SIMD128
  | 'Disposed' // DisposedError
  | 'MissingDependency' // IciiaError: an optional dependency was needed but not given
  | 'Internal'; // IciiaError: a bug; the message says what happened

/** Base class of the package's errors. */
export class IciiaError extends Error {
  readonly code: IciiaErrorCode;
  constructor(message: string, code: IciiaErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A weights, model or bundle file is malformed, inconsistent or unsupported. */
export class ModelFormatError extends IciiaError {
  declare readonly code: 'FormatError' | 'ShapeError' | 'Unsupported';
  constructor(message: string, code: 'FormatError' | 'ShapeError' | 'Unsupported', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}

/** A bundle file could not be fetched or read (HTTP error, offline, missing file). */
export class ModelLoadError extends IciiaError {
  declare readonly code: 'ModelLoad';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ModelLoad', options);
  }
}

/**
 * The WebAssembly core could not be loaded: the engine lacks SIMD128
 * (`code` 'NoSimd'), or the `.wasm` or its glue could not be fetched,
 * was not what it should be, or did not instantiate ('CoreLoad'). The
 * message names the URL, the HTTP status and what came back.
 */
export class CoreLoadError extends IciiaError {
  declare readonly code: 'CoreLoad' | 'NoSimd';
  constructor(message: string, options?: { cause?: unknown; code?: 'CoreLoad' | 'NoSimd' }) {
    super(`iciia-web: ${message}`, options?.code ?? 'CoreLoad', options);
  }
}

/**
 * IndexedDB refused (or failed) to store or read the history. `quota` is true
 * when the disk or origin quota is full. Nothing stored before is lost: the
 * failed operation changed neither storage nor the recognizer's memory.
 */
export class StorageError extends IciiaError {
  declare readonly code: 'StorageError' | 'QuotaExceeded';
  readonly quota: boolean;
  constructor(message: string, quota: boolean, options?: { cause?: unknown }) {
    super(message, quota ? 'QuotaExceeded' : 'StorageError', options);
    this.quota = quota;
  }
}

/** A size bound was exceeded (a tensor larger than allowed, a history too long). */
export class LimitError extends IciiaError {
  declare readonly code: 'LimitError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'LimitError', options);
  }
}

/** The object was used after `dispose()`. */
export class DisposedError extends IciiaError {
  declare readonly code: 'Disposed';
  constructor(what: string) {
    super(`${what} was used after dispose()`, 'Disposed');
  }
}

/** An argument of the right type but the wrong size or value. */
export class InvalidArgumentError extends TypeError {
  readonly code = 'InvalidArgument' as const;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
  }
}

/** Turns an error thrown by the wasm core (an Error with a `code`) into a typed one. */
export function fromCoreError(e: unknown): Error {
  if (!(e instanceof Error)) return new IciiaError(String(e), 'Internal');
  if (e instanceof IciiaError || e instanceof TypeError) return e; // already typed (ours)
  const code = (e as { code?: unknown }).code;
  switch (code) {
    case 'FormatError':
    case 'ShapeError':
    case 'Unsupported':
      return new ModelFormatError(e.message, code, { cause: e });
    case 'LimitError':
      return new LimitError(e.message, { cause: e });
    case 'InvalidArgument':
      return new InvalidArgumentError(e.message);
    case 'IoError':
      return new IciiaError(e.message, 'IoError', { cause: e });
    case 'StorageError':
      return new StorageError(e.message, !!(e as { quota?: unknown }).quota, { cause: e });
    default:
      // Not an error of the core (a JavaScript engine's RangeError, an abort): still typed.
      return new IciiaError(code === undefined ? `${e.name}: ${e.message}` : `${String(code)}: ${e.message}`, 'Internal', { cause: e });
  }
}

/** Runs a call into the core, rethrowing its errors typed. */
export function core<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromCoreError(e);
  }
}
