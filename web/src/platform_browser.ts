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
};

const WASM: Record<CoreVariant, () => URL> = {
  simd: () => new URL('../wasm/iciia_core.wasm', import.meta.url),
};

export const browserPlatform: Platform = {
  importGlue: (variant) => GLUE[variant](),
  wasmUrl: (variant) => WASM[variant](),
  resolve: async (location) => new URL(location, globalThis.location?.href),
};
