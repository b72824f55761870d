/**
 * Typed errors. Every error the package throws is one of these (or a
 * TypeError for arguments of the wrong type), so callers can tell a bad
 * model file from a bad image from a full disk.
 */

/** Base class: `code` is the core's error code (e.g. `FormatError`). */
export class IciiaError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A weights, model or bundle file is malformed, inconsistent or unsupported. */
export class ModelFormatError extends IciiaError {}

/** A bundle file could not be fetched or read (HTTP error, offline, missing file). */
export class ModelLoadError extends IciiaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ModelLoad', options);
  }
}

/**
 * IndexedDB refused (or failed) to store or read the history. `quota` is true
 * when the disk or origin quota is full. Nothing stored before is lost: the
 * failed operation changed neither storage nor the recognizer's memory.
 */
export class StorageError extends IciiaError {
  readonly quota: boolean;
  constructor(message: string, quota: boolean, options?: { cause?: unknown }) {
    super(message, quota ? 'QuotaExceeded' : 'StorageError', options);
    this.quota = quota;
  }
}

/** A size bound was exceeded (a tensor larger than allowed, a history too long). */
export class LimitError extends IciiaError {}

/** The object was used after `dispose()`. */
export class DisposedError extends IciiaError {
  constructor(what: string) {
    super(`${what} was used after dispose()`, 'Disposed');
  }
}

/** An argument of the right type but the wrong size or value. */
export class InvalidArgumentError extends TypeError {
  readonly code = 'InvalidArgument';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
  }
}

/** Turns an error thrown by the wasm core (an Error with a `code`) into a typed one. */
export function fromCoreError(e: unknown): Error {
  if (!(e instanceof Error)) return new IciiaError(String(e), 'Internal');
  if (e instanceof IciiaError || e instanceof TypeError) return e;  // already typed (ours)
  const code = (e as { code?: unknown }).code;
  switch (code) {
    case 'FormatError':
    case 'ShapeError':
    case 'Unsupported':
      return new ModelFormatError(e.message, code, { cause: e });
    case 'LimitError':
      return new LimitError(e.message, code, { cause: e });
    case 'InvalidArgument':
      return new InvalidArgumentError(e.message);
    case undefined:
      return e;
    default:
      return new IciiaError(e.message, String(code), { cause: e });
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
