// Prepended to the ES-module glue (--extern-pre-js). Emscripten 3.1.6's Node
// path expects CommonJS globals; define them only under Node, and load the
// built-ins dynamically so the same file still runs in pages and workers.
if (typeof process === 'object' && process.versions && process.versions.node) {
  const { createRequire } = await import('node:module');
  const { fileURLToPath } = await import('node:url');
  const path = await import('node:path');
  globalThis.require = globalThis.require || createRequire(import.meta.url);
  globalThis.__filename = globalThis.__filename || fileURLToPath(import.meta.url);
  globalThis.__dirname = globalThis.__dirname || path.dirname(globalThis.__filename);
}
