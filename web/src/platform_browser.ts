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

/**
 * The pthread worker script's URL: the file as served, where it arrives as a
 * classic script of the page's origin (a strict `worker-src 'self'` policy
 * allows only that), else a `blob:` URL of the text the package carries.
 * Bundlers do not all serve it so: Vite inlines a script this small as a
 * `data:` URL in a build (a worker started from one has an opaque origin, so
 * its import of the glue is cross-origin, which a cross-origin isolated page
 * refuses), and its dev server rewrites it into an ES module (an `import`
 * statement, a syntax error in a classic worker); the workers never started.
 * webpack minifies it, which is fine.
 */
async function workerScript(url: string): Promise<string> {
  if (!url.startsWith('data:')) {
    const served = await fetch(url).then(
      (r) => (r.ok ? r.text() : null),
      () => null,
    );
    if (served !== null && !/^\s*(import|export)\b/.test(served)) return url;
  }
  const shipped = await import('../wasm/iciia_core.mt.worker.text.mjs').then(
    (m) => m.default,
    () => null, // not served either: the URL is all there is
  );
  return shipped === null ? url : URL.createObjectURL(new Blob([shipped], { type: 'text/javascript' }));
}

export const browserPlatform: Platform = {
  importGlue: (variant) => GLUE[variant](),
  wasmUrl: (variant) => WASM[variant](),
  // Each pthread worker is a classic worker running the worker script, which
  // imports the glue by URL: both named statically, so a bundler emits them.
  threadFiles: async () => ({
    worker: await workerScript(new URL('../wasm/iciia_core.mt.worker.js', import.meta.url).href),
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
