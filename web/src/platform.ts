/**
 * What loading needs from the JavaScript environment: which Emscripten glue
 * to import, where the package's `.wasm` lies, how to read a local file and
 * what a relative location is relative to. Pages and workers use
 * platform_browser.ts, the default; the universal entry (index.ts) installs
 * platform_node.ts when it runs in Node. The browser entry (browser.ts)
 * never imports the Node one, so a browser bundle holds no Node code.
 */
import { browserPlatform } from './platform_browser.js';

/**
 * A build of the core: its glue and its binary (wasm/CMakeLists.txt).
 * 'simd-threads' also has a pthread worker script, and needs shared memory
 * (a cross-origin isolated page or worker, or Node).
 */
export type CoreVariant = 'simd' | 'simd-threads';

/** An Emscripten glue module: its default export instantiates the core. */
export interface GlueModule {
  default: (options: Record<string, unknown>) => Promise<unknown>;
}

export interface Platform {
  /** Imports the glue of `variant`. */
  importGlue(variant: CoreVariant): Promise<GlueModule>;
  /** The package's own `.wasm` of `variant`. */
  wasmUrl(variant: CoreVariant): URL;
  /**
   * For 'simd-threads': what the glue's pthread workers load, as the glue
   * wants it (a URL string in pages, a path in Node): the worker script, and
   * the glue itself (which each worker imports).
   */
  threadFiles(): Promise<{ worker: string; glue: string }>;
  /** Whether this context can run the threads build, and if not, why. */
  threadsUnavailable(): string | null;
  /** Cores this context reports (at least 1). */
  cores(): Promise<number>;
  /** Makes the core's pthread workers not keep the process alive (Node). */
  releaseWorkers?: (module: unknown) => void;
  /** Reads a file: URL; absent where there are no local files. */
  readFileUrl?: (url: URL) => Promise<Uint8Array>;
  /** A location the caller gave: a URL, or relative to the page (browsers) or the working directory (Node). */
  resolve(location: string | URL): Promise<URL>;
}

let current: Platform = browserPlatform;

export function setPlatform(p: Platform): void {
  current = p;
}

export function platform(): Platform {
  return current;
}
