// The Node half of `node tests/bench/backbone.mjs --browser`: a loopback file
// server with an allow-list, and headless Debian Chromium driven by
// playwright-core (tests/browser/, no browser download of its own) on
// page.html, whose window.iciiaBench (page.mjs) does the measuring.
//
//   const bench = await openBrowserBench({ models: ['a.onnx'], input: Float32Array });
//   bench.env                      // clock, versions, isolation: what the header needs
//   const r = await bench.runModel(0, { dims, warmup, reps, profile });
//   const audit = await bench.close();  // { requests, violations }
//
// Offline by construction: the server binds 127.0.0.1 on an ephemeral port
// and serves only the listed files; every page request goes through a
// playwright route that lets through only those URLs (anything else is
// aborted and recorded as a violation, which the caller turns into a
// failure); Chromium runs with background networking, component updates,
// sync and QUIC off and a host resolver that resolves no name at all.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BROWSER_PROJECT = join(ROOT, 'tests/browser');
const ORT_PROJECT = join(ROOT, 'tests/ort');
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';
const PAGE = '/tests/bench/browser/page.html';
const ORT_DIST = '/onnxruntime-web/dist/'; // as in page.mjs
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};
const contentType = (name) => CONTENT_TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';

function loadPlaywright() {
  const require = createRequire(join(BROWSER_PROJECT, 'package.json'));
  try {
    return { chromium: require('playwright-core').chromium, version: require('playwright-core/package.json').version };
  } catch (e) {
    throw new Error(`playwright-core is not installed in tests/browser (run scripts/setup.sh, or \`npm ci\` there): ${e.message}`);
  }
}

function ortDistDir() {
  const require = createRequire(join(ORT_PROJECT, 'package.json'));
  let dir;
  try {
    dir = dirname(require.resolve('onnxruntime-web')); // the `require` export lives in dist/
  } catch (e) {
    throw new Error(`onnxruntime-web is not installed in tests/ort (run scripts/setup.sh, or \`npm ci\` there): ${e.message}`);
  }
  const version = JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')).version;
  return { dir, version };
}

/**
 * The allow-list: URL path → { file } or { bytes }. The page, its modules,
 * web/dist/*.js, web/wasm's glue and binary, onnxruntime-web's wasm build
 * (ESM entry, glue, binary), the models and the input.
 */
function allowList(models, input) {
  const files = new Map();
  const add = (path, file) => {
    if (!existsSync(file)) throw new Error(`missing ${file}`);
    files.set(path, { file });
  };
  for (const f of ['tests/bench/browser/page.html', 'tests/bench/browser/page.mjs', 'tests/bench/browser/measure.mjs', 'tests/bench/clock.mjs'])
    add(`/${f}`, join(ROOT, f));
  const dist = join(ROOT, 'web/dist');
  if (!existsSync(join(dist, 'index.js'))) throw new Error('web/dist/index.js missing: run scripts/build.sh');
  for (const f of readdirSync(dist)) if (f.endsWith('.js')) add(`/web/dist/${f}`, join(dist, f));
  for (const f of ['iciia_core.mjs', 'iciia_core.wasm']) {
    if (!existsSync(join(ROOT, 'web/wasm', f))) throw new Error(`web/wasm/${f} missing: run scripts/build.sh`);
    add(`/web/wasm/${f}`, join(ROOT, 'web/wasm', f));
  }
  const ort = ortDistDir();
  for (const f of ORT_FILES) add(`${ORT_DIST}${f}`, join(ort.dir, f));
  models.forEach((m, i) => add(`/models/${i}/${encodeURIComponent(basename(m))}`, m));
  files.set('/input.f32', { bytes: new Uint8Array(input.buffer, input.byteOffset, input.byteLength) });
  return { files, ortVersion: ort.version };
}

function startServer(files) {
  const server = createServer(async (req, res) => {
    const host = req.headers.host;
    const { port } = server.address();
    let path = null;
    try {
      path = new URL(req.url, 'http://x').pathname;
    } catch {}
    const entry = files.get(path);
    if (host !== `127.0.0.1:${port}` || (req.method !== 'GET' && req.method !== 'HEAD') || !entry) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not on the allow-list\n');
      return;
    }
    try {
      const body = entry.bytes ?? (await readFile(entry.file));
      res.writeHead(200, {
        'Content-Type': contentType(path),
        'Content-Length': body.byteLength,
        'Cache-Control': 'no-store',
        // Cross-origin isolation, as a deployment with threads would have:
        // also gives the page performance.now() at its finest resolution.
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${e.message}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function chromiumVersionLine(executablePath) {
  try {
    return execFileSync(executablePath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 }).trim();
  } catch {
    return null;
  }
}

/**
 * Starts the server and the browser, opens the page and runs its init().
 * @param {{models: string[], input: Float32Array, executablePath?: string, settleMs?: number, log?: (line: string) => void}} o
 *   settleMs: how long the page waits, once loaded, before it measures (see page.mjs)
 */
export async function openBrowserBench({
  models,
  input,
  executablePath = DEFAULT_CHROMIUM,
  settleMs = 2000,
  log = (l) => console.error(l),
}) {
  if (!existsSync(executablePath))
    throw new Error(`${executablePath} not found: install Debian's chromium (scripts/setup.sh does: apt-get install chromium)`);
  const { chromium, version: playwrightVersion } = loadPlaywright();
  const { files, ortVersion } = allowList(models, input);
  const versionLine = chromiumVersionLine(executablePath); // before the browser starts: nothing else runs meanwhile
  const server = await startServer(files);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const userDataDir = await mkdtemp(join(tmpdir(), 'iciia-chromium-'));
  const requests = [];
  const violations = new Set();
  let context = null;

  // Best effort if the process ends without close() (e.g. its stdout pipe closed).
  const removeProfileAtExit = () => rmSync(userDataDir, { recursive: true, force: true });
  process.once('exit', removeProfileAtExit);
  const cleanup = async () => {
    await context?.close().catch(() => {});
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
    await rm(userDataDir, { recursive: true, force: true });
    process.off('exit', removeProfileAtExit);
  };

  try {
    const isRoot = process.getuid?.() === 0;
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      chromiumSandbox: !isRoot, // root cannot use Chromium's sandbox: --no-sandbox
      args: [
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
        ...(isRoot ? ['--no-sandbox'] : []),
      ],
      serviceWorkers: 'block',
      acceptDownloads: false,
      timeout: 120_000,
    });

    const allowed = (request) => {
      if (/^(data|blob):/.test(request.url())) return true; // in memory, not network
      if (request.method() !== 'GET') return false;
      let u;
      try {
        u = new URL(request.url());
      } catch {
        return false;
      }
      return u.origin === origin && u.search === '' && u.hash === '' && files.has(u.pathname);
    };
    // Every request the context makes (pages, workers) is recorded here, and
    // any not on the allow-list is a violation; the route lets through only
    // allowed ones, so nothing else ever leaves the browser.
    context.on('request', (request) => {
      requests.push(request.url());
      if (!allowed(request)) violations.add(`${request.method()} ${request.url()}`);
    });
    await context.route('**/*', (route, request) => {
      if (allowed(request)) return route.continue();
      violations.add(`${request.method()} ${request.url()}`);
      return route.abort('blockedbyclient');
    });

    const page = context.pages()[0] ?? (await context.newPage());
    page.on('websocket', (ws) => violations.add(`WebSocket ${ws.url()}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log(`[page console.${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => log(`[page error] ${e.message}`));
    page.on('crash', () => log('[page crashed]'));

    const cdp = await context.newCDPSession(page);
    const { product } = await cdp.send('Browser.getVersion');
    await cdp.detach();

    await page.goto(origin + PAGE, { waitUntil: 'load', timeout: 60_000 });
    await page.waitForFunction(() => window.iciiaBench || window.iciiaBenchError, null, { timeout: 120_000 });
    const pageError = await page.evaluate(() => window.iciiaBenchError ?? null);
    if (pageError) throw new Error(`the page failed to load its modules:\n${pageError}`);
    const pageEnv = await page.evaluate((o) => window.iciiaBench.init(o), { settleMs });

    const env = {
      ...pageEnv,
      product, // e.g. Chrome/156.0.8078.79 (HeadlessChrome/… in the old headless mode)
      chromiumVersion: product.split('/').pop(),
      versionLine, // e.g. Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)
      executablePath,
      playwrightVersion,
      ortPackageVersion: ortVersion,
      origin,
      allowListSize: files.size,
    };

    return {
      env,
      /** Requests off the allow-list so far (blocked, but a failure). */
      violations: () => [...violations],
      /** Runs model `i` (an index into `models`) in the page. */
      runModel: (i, { dims, warmup, reps, profile }) =>
        page.evaluate((cfg) => window.iciiaBench.runModel(cfg), {
          modelUrl: `/models/${i}/${encodeURIComponent(basename(models[i]))}`,
          inputUrl: '/input.f32',
          dims,
          warmup,
          reps,
          profile,
        }),
      /** Closes browser and server; returns the request audit. */
      close: async () => {
        await cleanup();
        return { requests: requests.length, violations: [...violations] };
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
