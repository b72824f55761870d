/**
 * Node. Its built-ins are imported when first needed, not at the top, so
 * that the universal entry (index.ts) still loads in a page served without a
 * bundler; bundlers never see this file (the package's `browser` export
 * condition leads them to browser.ts).
 */
import type { CoreVariant, GlueModule, Platform } from './platform.js';

const GLUE: Record<CoreVariant, () => Promise<GlueModule>> = {
  simd: () => import('../wasm/iciia_core.node.mjs'),
};

export const nodePlatform: Platform = {
  importGlue: (variant) => GLUE[variant](),
  // One binary for both glues (scripts/build.sh checks they are the same bytes).
  wasmUrl: () => new URL('../wasm/iciia_core.wasm', import.meta.url),
  // Node's fetch cannot read file: URLs.
  readFileUrl: async (url) => {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(url));
  },
  resolve: async (location) => {
    const s = String(location);
    if (location instanceof URL || /^[a-z][a-z0-9+.-]+:/i.test(s)) return new URL(s);
    const [{ pathToFileURL }, { resolve }] = await Promise.all([import('node:url'), import('node:path')]);
    return pathToFileURL(resolve(s));
  },
};
