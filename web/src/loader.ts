/**
 * Loading the WebAssembly core: the Emscripten glue of this environment
 * (platform.ts) and the package's `.wasm`, fetched (or, in Node, read) and
 * checked here rather than by the glue, so that a binary that is not one (an
 * HTML 404 page, a file served under the wrong name) is an error that says
 * what came back from where.
 */
import { CoreLoadError } from './errors.js';
import type { CoreModule } from './core.js';
import { platform, type CoreVariant } from './platform.js';

/** Options that say where the WebAssembly binary comes from (by default: beside the package's modules), and how many threads it may use. */
export interface WasmOptions {
  /** The `.wasm` bytes themselves (the package's `wasm/iciia_core.wasm`); nothing is fetched then, and the core runs single-threaded. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /**
   * Where `iciia_core.wasm` is served, if not beside the package's modules:
   * its folder (URL prefix; in Node also a path) or the file's own URL. A
   * folder also serves the threads build's `iciia_core.mt.wasm`; a file's
   * URL means the single-threaded core.
   */
  wasmPaths?: string | URL;
  /**
   * Threads the backbone runs on, the calling thread included. Default: the
   * cores this context reports, at most 4, where threads are possible: Node,
   * and cross-origin isolated pages and their workers (README, "Threads").
   * Elsewhere the core runs on one thread whatever is asked, and says so in
   * `info.threads`. Outputs do not depend on it, bit for bit.
   */
  threads?: number;
}

/** Default thread count: the cores, at most this many (beyond it the backbone's short layers gain little). */
export const MAX_DEFAULT_THREADS = 4;
/** The most threads a core may be asked for. */
export const MAX_THREADS = 16;

/** A loaded core and the thread count its backbones run with. */
export type LoadedCore = CoreModule & { readonly iciiaThreads: number };

const byUrl = new Map<string, Promise<LoadedCore>>();
const byBinary = new WeakMap<object, Promise<LoadedCore>>();

/** The thread count to run with: the option, or the default, where threads are possible at all. */
async function threadCount(options: WasmOptions, warn?: (message: string) => void): Promise<number> {
  const asked = options.threads;
  if (asked !== undefined && (!Number.isInteger(asked) || asked < 1 || asked > MAX_THREADS)) {
    throw new TypeError(`threads: expected an integer from 1 to ${MAX_THREADS}, got ${String(asked)}`);
  }
  if (asked === 1) return 1;
  const why =
    options.wasmBinary !== undefined
      ? 'wasmBinary holds the single-threaded core'
      : options.wasmPaths !== undefined && /\.wasm$/i.test(new URL(String(options.wasmPaths), 'x:/').pathname)
        ? "wasmPaths names the single-threaded core's file"
        : platform().threadsUnavailable();
  if (why !== null) {
    // Only an explicit request is worth a warning: by default one thread is what such a context runs.
    if (asked !== undefined) warn?.(`threads: ${asked} asked, running on one thread: ${why}`);
    return 1;
  }
  return asked ?? Math.min(await platform().cores(), MAX_DEFAULT_THREADS);
}

/**
 * Loads the WebAssembly core once per binary location and thread count (or
 * per `wasmBinary` buffer). Rejects with a CoreLoadError when the engine
 * lacks SIMD128 (`code` 'NoSimd') or the binary or glue cannot be had
 * ('CoreLoad'), with a TypeError for a bad `threads`.
 */
export async function loadCore(options: WasmOptions = {}, warn?: (message: string) => void): Promise<LoadedCore> {
  const threads = await threadCount(options, warn);
  if (options.wasmBinary !== undefined) {
    const b = options.wasmBinary;
    if (!(b instanceof Uint8Array) && !(b instanceof ArrayBuffer)) {
      return Promise.reject(new TypeError('wasmBinary: expected the .wasm bytes as an ArrayBuffer or Uint8Array'));
    }
    const key = b instanceof Uint8Array ? b.buffer : b;
    let hit = byBinary.get(key);
    if (!hit) {
      hit = instantiate(async () => ({ bytes: b instanceof Uint8Array ? b : new Uint8Array(b), where: 'options.wasmBinary' }), 1);
      byBinary.set(key, hit);
      hit.catch(() => byBinary.delete(key));
    }
    return hit;
  }
  const variant: CoreVariant = threads > 1 ? 'simd-threads' : 'simd';
  const url = await wasmLocation(options.wasmPaths, variant);
  const key = `${url.href} ${threads}`;
  let hit = byUrl.get(key);
  if (!hit) {
    hit = instantiate(() => readWasm(url), threads).catch(async (e: unknown) => {
      // Threads the page could not start (their script blocked or not
      // served): the single-threaded core still answers, and says so.
      if (!(e instanceof ThreadsUnavailable)) throw e;
      warn?.(`${e.message}; running on one thread`);
      return loadCore({ ...options, threads: 1 });
    });
    byUrl.set(key, hit);
    hit.catch(() => byUrl.delete(key));
  }
  return hit;
}

/** The threads build's workers did not start. */
class ThreadsUnavailable extends Error {}

/**
 * How long the threads build may take to start its workers. They normally
 * take a few hundred milliseconds; one that loads its script but cannot
 * import the glue (a bundler that moved it) never reports back, and the
 * module would wait for it forever.
 */
const THREADS_START_MS = 8000;

function startTimeout(ready: Promise<unknown>): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(
      () => reject(new ThreadsUnavailable(`the threads build's workers did not start within ${THREADS_START_MS / 1000} s`)),
      THREADS_START_MS,
    );
    // Node: a pending timer must not keep the process alive once the core is up.
    void ready.then(() => clearTimeout(timer), () => clearTimeout(timer));
  });
}

/**
 * Rejects when one of the module's pthread workers fails to start (its
 * script not served, or refused by the page's policy). The glue's own
 * handler would rethrow the event as an uncaught page error; until the core
 * is ready it is held back and the failure becomes this rejection (the
 * loader then falls back to one thread); afterwards it runs as the glue meant.
 */
function workerFailures(module: Record<string, unknown>, ready: Promise<unknown>, where: string): Promise<never> {
  const workers = ((module.PThread as { unusedWorkers?: unknown[] } | undefined)?.unusedWorkers ?? []) as EventTarget[];
  let loaded = false;
  void ready.then(() => (loaded = true), () => {});
  return new Promise((_, reject) => {
    for (const w of workers) {
      if (typeof w.addEventListener !== 'function') continue; // Node's worker_threads: none of this
      let glueHandler: ((e: Event) => void) | null = null;
      Object.defineProperty(w, 'onerror', { configurable: true, get: () => glueHandler, set: (f) => (glueHandler = f) });
      w.addEventListener('error', (e) => {
        if (loaded) {
          glueHandler?.call(w, e);
          return;
        }
        e.preventDefault();
        reject(new ThreadsUnavailable(`the threads build's worker script ${where} did not start in this page`));
      });
    }
  });
}

async function wasmLocation(wasmPaths: string | URL | undefined, variant: CoreVariant): Promise<URL> {
  if (wasmPaths === undefined) return platform().wasmUrl(variant);
  if (typeof wasmPaths !== 'string' && !(wasmPaths instanceof URL)) {
    throw new TypeError(`wasmPaths: expected a folder URL or the .wasm file's URL, got ${typeof wasmPaths}`);
  }
  let s = String(wasmPaths);
  if (!/\.wasm$/i.test(new URL(s, 'x:/').pathname) && !s.endsWith('/')) s += '/';
  const url = await platform().resolve(s);
  // resolve() of a path drops the trailing slash; a folder gets it back.
  if (s.endsWith('/') && !url.pathname.endsWith('/')) url.pathname += '/';
  return url.pathname.endsWith('/') ? new URL(variant === 'simd' ? 'iciia_core.wasm' : 'iciia_core.mt.wasm', url) : url;
}

// The smallest module using a v128 instruction: (func (result v128) v128.const 0).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
]);
const WASM_MAGIC = [0, 97, 115, 109];

const HINT =
  "serve the package's wasm/iciia_core.wasm there (and, for threads, iciia_core.mt.wasm), or pass wasmPaths (where it is served) or wasmBinary (its bytes)";

/** Printable start of a body that should have been WebAssembly, for the error message. */
function preview(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty body';
  const head = bytes.subarray(0, 48);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head).replace(/\s+/g, ' ');
  const printable = /^[\x20-\x7e]*$/.test(text);
  const shown = printable ? JSON.stringify(text) : Array.from(head.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `${bytes.length} bytes starting ${shown}${bytes.length > head.length ? '…' : ''}`;
}

function isWasm(bytes: Uint8Array): boolean {
  return WASM_MAGIC.every((b, i) => bytes[i] === b);
}

async function readWasm(url: URL): Promise<{ bytes: Uint8Array; where: string }> {
  const read = platform().readFileUrl;
  if (url.protocol === 'file:' && read) {
    let bytes: Uint8Array;
    try {
      bytes = await read(url);
    } catch (e) {
      throw new CoreLoadError(`cannot read the WebAssembly core ${url.href}: ${(e as Error).message}; ${HINT}`, { cause: e });
    }
    if (!isWasm(bytes)) throw new CoreLoadError(`${url.href} is not WebAssembly: ${preview(bytes)}; ${HINT}`);
    return { bytes, where: url.href };
  }
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new CoreLoadError(`cannot fetch the WebAssembly core ${url.href}: ${(e as Error).message}; ${HINT}`, { cause: e });
  }
  const status = `HTTP ${response.status}${response.statusText ? ' ' + response.statusText : ''}`;
  const type = response.headers.get('content-type') ?? 'no Content-Type';
  const bytes = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
  if (!response.ok || !isWasm(bytes)) {
    throw new CoreLoadError(
      `the WebAssembly core ${url.href} did not arrive: ${status}, ${type}, ${preview(bytes)} ` +
        `(expected application/wasm starting "\\0asm"); ${HINT}`,
    );
  }
  return { bytes, where: url.href };
}

async function instantiate(binary: () => Promise<{ bytes: Uint8Array; where: string }>, threads: number): Promise<LoadedCore> {
  const variant: CoreVariant = threads > 1 ? 'simd-threads' : 'simd';
  if (!WebAssembly.validate(SIMD_PROBE)) {
    throw new CoreLoadError('this JavaScript engine has no WebAssembly SIMD128 support, which the iciia-web core needs', {
      code: 'NoSimd',
    });
  }
  const [{ bytes, where }, glue] = await Promise.all([
    binary(),
    platform()
      .importGlue(variant)
      .catch((e: unknown) => {
        throw new CoreLoadError(`cannot import the core's JavaScript glue (the package's wasm/ folder): ${(e as Error).message}`, {
          cause: e,
        });
      }),
  ]);
  try {
    const options: Record<string, unknown> = { wasmBinary: bytes };
    if (threads === 1) return Object.assign((await glue.default(options)) as CoreModule, { iciiaThreads: 1 });
    // The module starts its pthread workers before it resolves: a thread
    // cannot be started later without returning to the event loop.
    const files = await platform().threadFiles();
    options.iciiaPoolSize = threads - 1;
    options.mainScriptUrlOrBlob = files.glue;
    options.locateFile = (name: string, prefix: string) => (name.endsWith('.worker.js') ? files.worker : prefix + name);
    const ready = glue.default(options);
    const m = (await Promise.race([ready, workerFailures(options, ready, files.worker), startTimeout(ready)])) as CoreModule;
    platform().releaseWorkers?.(m);
    return Object.assign(m, { iciiaThreads: threads });
  } catch (e) {
    if (e instanceof ThreadsUnavailable) throw e;
    throw new CoreLoadError(`cannot instantiate the WebAssembly core from ${where}: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
    });
  }
}
