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

/** Options that say where the WebAssembly binary comes from. By default: beside the package's modules. */
export interface WasmOptions {
  /** The `.wasm` bytes themselves (the package's `wasm/iciia_core.wasm`); nothing is fetched then. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /**
   * Where `iciia_core.wasm` is served, if not beside the package's modules:
   * its folder (URL prefix; in Node also a path) or the file's own URL.
   */
  wasmPaths?: string | URL;
}

const VARIANT: CoreVariant = 'simd';

const byUrl = new Map<string, Promise<CoreModule>>();
const byBinary = new WeakMap<object, Promise<CoreModule>>();

/**
 * Loads the WebAssembly core once per binary location (or per `wasmBinary`
 * buffer). Rejects with a CoreLoadError when the engine lacks SIMD128
 * (`code` 'NoSimd') or the binary or glue cannot be had ('CoreLoad').
 */
export function loadCore(options: WasmOptions = {}): Promise<CoreModule> {
  if (options.wasmBinary !== undefined) {
    const b = options.wasmBinary;
    if (!(b instanceof Uint8Array) && !(b instanceof ArrayBuffer)) {
      return Promise.reject(new TypeError('wasmBinary: expected the .wasm bytes as an ArrayBuffer or Uint8Array'));
    }
    const key = b instanceof Uint8Array ? b.buffer : b;
    let hit = byBinary.get(key);
    if (!hit) {
      hit = instantiate(async () => ({ bytes: b instanceof Uint8Array ? b : new Uint8Array(b), where: 'options.wasmBinary' }));
      byBinary.set(key, hit);
      hit.catch(() => byBinary.delete(key));
    }
    return hit;
  }
  return wasmLocation(options.wasmPaths).then((url) => {
    let hit = byUrl.get(url.href);
    if (!hit) {
      hit = instantiate(() => readWasm(url));
      byUrl.set(url.href, hit);
      hit.catch(() => byUrl.delete(url.href));
    }
    return hit;
  });
}

async function wasmLocation(wasmPaths: string | URL | undefined): Promise<URL> {
  if (wasmPaths === undefined) return platform().wasmUrl(VARIANT);
  if (typeof wasmPaths !== 'string' && !(wasmPaths instanceof URL)) {
    throw new TypeError(`wasmPaths: expected a folder URL or the .wasm file's URL, got ${typeof wasmPaths}`);
  }
  let s = String(wasmPaths);
  if (!/\.wasm$/i.test(new URL(s, 'x:/').pathname) && !s.endsWith('/')) s += '/';
  const url = await platform().resolve(s);
  // resolve() of a path drops the trailing slash; a folder gets it back.
  if (s.endsWith('/') && !url.pathname.endsWith('/')) url.pathname += '/';
  return url.pathname.endsWith('/') ? new URL('iciia_core.wasm', url) : url;
}

// The smallest module using a v128 instruction: (func (result v128) v128.const 0).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
]);
const WASM_MAGIC = [0, 97, 115, 109];

const HINT = "serve the package's wasm/iciia_core.wasm there, or pass wasmPaths (where it is served) or wasmBinary (its bytes)";

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

async function instantiate(binary: () => Promise<{ bytes: Uint8Array; where: string }>): Promise<CoreModule> {
  if (!WebAssembly.validate(SIMD_PROBE)) {
    throw new CoreLoadError('this JavaScript engine has no WebAssembly SIMD128 support, which the iciia-web core needs', {
      code: 'NoSimd',
    });
  }
  const [{ bytes, where }, glue] = await Promise.all([
    binary(),
    platform()
      .importGlue(VARIANT)
      .catch((e: unknown) => {
        throw new CoreLoadError(`cannot import the core's JavaScript glue (the package's wasm/ folder): ${(e as Error).message}`, {
          cause: e,
        });
      }),
  ]);
  try {
    return (await glue.default({ wasmBinary: bytes })) as CoreModule;
  } catch (e) {
    throw new CoreLoadError(`cannot instantiate the WebAssembly core from ${where}: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
    });
  }
}
