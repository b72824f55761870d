/**
 * Node. Its built-ins are imported when first needed, not at the top, so
 * that the universal entry (index.ts) still loads in a page served without a
 * bundler; bundlers never see this file (the package's `browser` export
 * condition leads them to browser.ts).
 */
import type { CoreVariant, GlueModule, Platform } from './platform.js';

const GLUE: Record<CoreVariant, () => Promise<GlueModule>> = {
  simd: () => import('../wasm/iciia_core.node.mjs'),
  'simd-threads': () => import('../wasm/iciia_core.mt.node.mjs'),
};

// Emscripten's pthread workers in Node (worker_threads), as far as they are used here.
interface NodeCoreThreads {
  PThread?: { unusedWorkers: { unref(): void }[]; runningWorkers: { unref(): void }[] };
}

export const nodePlatform: Platform = {
  importGlue: (variant) => GLUE[variant](),
  // One binary per variant for both environments (scripts/build.sh checks
  // the glues of a variant load the same bytes).
  wasmUrl: (variant) =>
    variant === 'simd' ? new URL('../wasm/iciia_core.wasm', import.meta.url) : new URL('../wasm/iciia_core.mt.wasm', import.meta.url),
  // The worker script is CommonJS (it require()s worker_threads); the
  // package is "type": "module", hence its .cjs name.
  threadFiles: async () => {
    const { fileURLToPath } = await import('node:url');
    return {
      worker: fileURLToPath(new URL('../wasm/iciia_core.mt.node.worker.cjs', import.meta.url)),
      glue: new URL('../wasm/iciia_core.mt.node.mjs', import.meta.url).href,
    };
  },
  threadsUnavailable: () => (typeof SharedArrayBuffer === 'undefined' ? 'this Node has no SharedArrayBuffer' : null),
  cores: async () => {
    const os = await import('node:os');
    return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  },
  // A library must not keep its host process alive: idle pthread workers
  // wait for work forever.
  releaseWorkers: (module) => {
    const t = (module as NodeCoreThreads).PThread;
    for (const w of [...(t?.unusedWorkers ?? []), ...(t?.runningWorkers ?? [])]) w.unref();
  },
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
