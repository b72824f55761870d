// The loopback static server shared by the demo (scripts/serve_demo.mjs, run
// by ./scripts/main.sh), the browser tests (tests/browser/) and the in-browser
// benchmarks (tests/bench/). It serves an allow-list, never a directory: a
// request for anything not on the list is a 404, so neither `..` tricks nor a
// stray file next to an asset can leak. URL paths are the repository's own
// paths (`/web/dist/index.js`, `/models/fashion-mnist/manifest.json`), so the
// demo's relative imports hold under any static server rooted at the repo.
//
//   const routes = demoRoutes();                       // Map: URL path → { file } | { bytes }
//   const srv = await startServer({ routes });         // 127.0.0.1, ephemeral port
//   srv.origin                                          // http://127.0.0.1:PORT
//   await srv.close();

import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Where the demo lives; `/` redirects here. */
export const DEMO_PATH = '/examples/demo/';

/**
 * The policy the demo is served (and tested) under. 'wasm-unsafe-eval' is
 * what compiling WebAssembly needs under a script-src; 'unsafe-eval' is not
 * there because the glue is built with -sDYNAMIC_EXECUTION=0 (no eval, no
 * new Function). Everything else is same-origin only; thumbnails are canvases,
 * so img-src needs neither blob: nor data:.
 */
export const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
};
const contentType = (path) => {
  const dot = path.lastIndexOf('.');
  return (dot > path.lastIndexOf('/') && CONTENT_TYPES[path.slice(dot).toLowerCase()]) || 'application/octet-stream';
};

/** The URL path of a file under the repository. */
export const urlPath = (file) => '/' + relative(ROOT, file).split(sep).map(encodeURIComponent).join('/');

/**
 * Adds every file under `dir` (recursively, dot-files skipped) to `routes`,
 * and `folder/` → `folder/index.html` where one exists. `filter(name)` keeps
 * only some files of the top folder's tree.
 */
export function addTree(routes, dir, filter = () => true) {
  if (!existsSync(dir)) return routes;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    const file = join(dir, name);
    if (statSync(file).isDirectory()) addTree(routes, file, filter);
    else if (filter(name)) {
      routes.set(urlPath(file), { file });
      if (name === 'index.html') routes.set(urlPath(dir) + '/', { file });
    }
  }
  return routes;
}

/**
 * The built package: web/dist's modules, web/wasm's browser glues, binaries and pthread worker script. Throws,
 * saying what to run, when it is not built.
 */
export function addPackageRoutes(routes) {
  // The single-threaded core, and the threads build a cross-origin isolated page loads.
  const wasm = ['iciia_core.mjs', 'iciia_core.wasm', 'iciia_core.mt.mjs', 'iciia_core.mt.wasm', 'iciia_core.mt.worker.js', 'iciia_core.mt.worker.text.mjs'];
  for (const f of ['web/dist/index.js', ...wasm.map((n) => `web/wasm/${n}`)])
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run scripts/build.sh`);
  addTree(routes, join(ROOT, 'web/dist'), (n) => n.endsWith('.js'));
  addTree(routes, join(ROOT, 'web/wasm'), (n) => wasm.includes(n));
  return routes;
}

/** What the demo needs and nothing else: the page, the package and the model bundles. */
export function demoRoutes() {
  const routes = addPackageRoutes(new Map());
  addTree(routes, join(ROOT, 'examples/demo'));
  addTree(routes, join(ROOT, 'models'));
  return routes;
}

/**
 * Serves `routes` (URL path → { file } read per request, or { bytes }) on
 * `host`:`port` (0: any free port). Only GET and HEAD, only with a Host
 * header naming this server (a page on another name cannot reach it through
 * DNS rebinding). Every response carries the CSP (unless `csp` is null) and
 * cross-origin isolation, which also gives pages performance.now() at its
 * finest resolution; nothing is cached by the browser (the demo's service
 * worker keeps its own copy for offline use).
 */
export async function startServer({ routes, csp = DEMO_CSP, host = '127.0.0.1', port = 0, redirects = { '/': DEMO_PATH } }) {
  const server = createServer(async (req, res) => {
    const { port: p } = server.address();
    const hosts = [`${host}:${p}`, `localhost:${p}`];
    let path = null;
    try {
      path = new URL(req.url, 'http://x').pathname;
    } catch {}
    const headers = {
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      ...(csp ? { 'Content-Security-Policy': csp } : {}),
    };
    if (!hosts.includes(req.headers.host)) {
      res.writeHead(421, { ...headers, 'Content-Type': 'text/plain' }).end('unknown host\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('GET or HEAD only\n');
      return;
    }
    if (path !== null && redirects[path]) {
      res.writeHead(302, { ...headers, Location: redirects[path] }).end();
      return;
    }
    const entry = path === null ? undefined : routes.get(path);
    if (!entry) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not on the allow-list\n');
      return;
    }
    try {
      const body = entry.bytes ?? (await readFile(entry.file));
      res.writeHead(200, { ...headers, 'Content-Type': contentType(entry.file ?? path), 'Content-Length': body.byteLength });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.writeHead(500, { ...headers, 'Content-Type': 'text/plain' }).end(`${e.message}\n`);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    server,
    origin: `http://${host}:${server.address().port}`,
    close: () => {
      server.closeAllConnections?.();
      return new Promise((r) => server.close(r));
    },
  };
}
