/**
 * Pages and workers. The glue and the binary are named by static,
 * file-specific patterns (`import('../wasm/….mjs')`, `new URL('../wasm/….wasm',
 * import.meta.url)`) that Vite, webpack, esbuild and Rollup recognise: a
 * bundle gets both files without configuration. A further core variant is
 * one more such pair here.
 */
import type { CoreVariant, GlueModule, Platform } from './platform.js';

const GLUE: Record<CoreVariant, () => Promise<GlueModule>> = {
  simd: () => import('../wasm/iciia_core.mjs'),
  'simd-threads': () => import('../wasm/iciia_core.mt.mjs'),
};

const WASM: Record<CoreVariant, () => URL> = {
  simd: () => new URL('../wasm/iciia_core.wasm', import.meta.url),
  'simd-threads': () => new URL('../wasm/iciia_core.mt.wasm', import.meta.url),
};

/**
 * A dedicated or shared worker in Firefox. Its nested `new Worker()` runs a
 * synchronous round trip to the browser's main thread; after a worker with
 * nested workers was terminated that round trip sometimes never returns, and
 * no timeout can fire on a blocked thread (tests/browser/crash.test.mjs hit
 * it about once in four runs). Pages start workers asynchronously and are not
 * affected.
 */
function geckoWorker(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
  const inWorker = typeof scope === 'function' && globalThis instanceof scope;
  return inWorker && /\bFirefox\//.test(globalThis.navigator?.userAgent ?? '');
}

export const browserPlatform: Platform = {
  importGlue: (variant) => GLUE[variant](),
  wasmUrl: (variant) => WASM[variant](),
  // Each pthread worker is a classic worker running the worker script, which
  // imports the glue by URL: both named statically, so a bundler emits them.
  threadFiles: async () => ({
    worker: new URL('../wasm/iciia_core.mt.worker.js', import.meta.url).href,
    glue: new URL('../wasm/iciia_core.mt.mjs', import.meta.url).href,
  }),
  threadsUnavailable: () => {
    if (globalThis.crossOriginIsolated !== true) {
      return 'the page is not cross-origin isolated (it needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so it has no SharedArrayBuffer';
    }
    if (typeof SharedArrayBuffer === 'undefined') return 'this browser offers no SharedArrayBuffer, even to a cross-origin isolated page';
    if (typeof Worker === 'undefined') return 'this context cannot start workers';
    if (geckoWorker()) {
      return "Firefox can block a worker for good in the Worker constructor when it starts the threads build's own workers (seen after another such worker was terminated), so workers in Firefox run the single-threaded core";
    }
    return null;
  },
  cores: async () => Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1),
  resolve: async (location) => new URL(location, globalThis.location?.href),
};
