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
    if (typeof SharedArrayBuffer === 'undefined' || globalThis.crossOriginIsolated !== true) {
      return 'the page is not cross-origin isolated (it needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so it has no SharedArrayBuffer';
    }
    if (typeof Worker === 'undefined') return 'this context cannot start workers';
    return null;
  },
  cores: async () => Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1),
  resolve: async (location) => new URL(location, globalThis.location?.href),
};
