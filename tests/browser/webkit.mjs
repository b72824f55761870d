// WebKit (Safari's engine) for the browser harness (harness.mjs): Debian's
// webkit2gtk-driver (WebKitWebDriver) drives WebKitGTK's MiniBrowser on a
// virtual X display (xvfb-run), spoken to in W3C WebDriver over plain fetch.
// openWebKit() returns what openBrowser() returns for the other engines; its
// pages offer the part of Playwright's Page the tests use, so one test runs
// in every engine.
//
// Start-up is paid once per process (each test file is one): the X display
// and the driver start on the first openWebKit() and live until the process
// exits; each openWebKit() is one WebDriver session (one MiniBrowser, a
// fresh ephemeral profile: IndexedDB lasts as long as the session, so
// openBrowser()'s userDataDir does not apply). WebDriver has no switch to
// block service workers: serviceWorkers 'block' is not honoured, pages may
// register theirs (the demo does; its requests still reach the audit).
//
// What classic WebDriver lacks, and how the harness makes up for it:
// - No request events: the allow-list server records every request it gets
//   (with its response headers, for goto()'s response), and every other host
//   goes through the session's proxy capability to a proxy of the harness
//   that records the request as a violation and refuses it, so nothing leaves
//   the machine and nothing goes unseen.
// - No console or page-error events, no init scripts: every HTML page served
//   starts with <script src="/__iciia/init.js"> (same origin, allowed by the
//   strict CSP), which records console.error/warn, uncaught errors and
//   unhandled rejections in sessionStorage (it survives reloads) and runs the
//   addInitScript() functions; the harness drains that record after each
//   command. Messages the engine itself prints (not through console.*) are
//   not seen. The script's own request is not counted as a page request.
// - Commands are one at a time per session: evaluate() starts the function
//   in the page and then polls for its result a quarter second at a time, so
//   work in two tabs really runs at the same time.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startServer } from '../../scripts/server.mjs';
import { cropPng } from './png.mjs';
import { requestRule } from './request_rule.mjs';

export const DEFAULT_WEBKIT_DRIVER = process.env.ICIIA_WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
const MINIBROWSERS = [
  '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
  '/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
  '/usr/lib/x86_64-linux-gnu/webkitgtk-6.0/MiniBrowser',
  '/usr/lib/aarch64-linux-gnu/webkitgtk-6.0/MiniBrowser',
];
export const DEFAULT_MINIBROWSER = process.env.ICIIA_MINIBROWSER || MINIBROWSERS.find((p) => existsSync(p)) || MINIBROWSERS[0];
const XVFB_RUN = '/usr/bin/xvfb-run';

const INIT_PATH = '/__iciia/init.js';
const ERRORS_KEY = '__iciiaErrors';
const POLL_MS = 250;
const SESSION_TIMEOUT_MS = 90_000;

/** Why WebKit cannot run here, or null. */
export function webkitMissing(driver = DEFAULT_WEBKIT_DRIVER) {
  if (!existsSync(driver)) return `${driver} not found: install Debian's webkit2gtk-driver (scripts/setup.sh does)`;
  if (!existsSync(DEFAULT_MINIBROWSER)) return `${DEFAULT_MINIBROWSER} not found: install Debian's libwebkit2gtk-4.1-0 (webkit2gtk-driver depends on it)`;
  if (!existsSync(XVFB_RUN)) return `${XVFB_RUN} not found: install Debian's xvfb and xauth (scripts/setup.sh does)`;
  return null;
}

export function webkitVersionLine() {
  try {
    const v = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'webkit2gtk-driver'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return `WebKitGTK MiniBrowser, webkit2gtk-driver ${v}`;
  } catch {
    return null;
  }
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

let driverPromise = null;

/** The X display and WebKitWebDriver, started once per process. */
function startDriver(driver, log) {
  driverPromise ??= (async () => {
    const port = await freePort();
    const logDir = await mkdtemp(join(tmpdir(), 'iciia-webkit-driver-'));
    const logFile = join(logDir, 'driver.log');
    const out = openSync(logFile, 'a');
    // Its own process group, so that both Xvfb and the driver end with it.
    const child = spawn(XVFB_RUN, ['-a', '-s', '-screen 0 1280x1024x24', driver, `--port=${port}`], {
      detached: true,
      stdio: ['ignore', out, out],
    });
    child.unref();
    const kill = () => {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      rmSync(logDir, { recursive: true, force: true });
    };
    process.once('exit', kill);
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited (${child.exitCode}): ${readFileSync(logFile, 'utf8')}`);
      try {
        const r = await fetch(`${base}/status`);
        if (r.ok) break;
      } catch {}
      if (Date.now() > deadline) {
        kill();
        throw new Error(`WebKitWebDriver did not answer on ${base} within 60 s: ${readFileSync(logFile, 'utf8')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`[webkit] WebKitWebDriver on ${base} under xvfb-run`);
    return {
      base,
      logFile,
      /** Ends this driver and its display; the next startDriver() starts new ones. */
      restart: () => {
        process.off('exit', kill);
        kill();
        driverPromise = null;
      },
    };
  })();
  return driverPromise;
}

/** One W3C WebDriver command; throws the driver's error with the command named. */
async function command(base, method, path, body, timeoutMs = 280_000) {
  const r = await fetch(base + path, {
    method,
    headers: body ? { 'content-type': 'application/json; charset=utf-8' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`WebDriver ${method} ${path}: HTTP ${r.status}, not JSON: ${text.slice(0, 200)}`);
  }
  if (!r.ok || json.value?.error) throw new Error(`WebDriver ${method} ${path}: ${json.value?.error ?? r.status}: ${json.value?.message ?? text.slice(0, 200)}`);
  return json.value;
}

/** The page-side script served at INIT_PATH: records errors, then runs the init scripts. */
function initScript(inits) {
  const record = `(() => {
  const KEY = ${JSON.stringify(ERRORS_KEY)};
  const push = (type, text) => {
    try {
      const list = JSON.parse(sessionStorage.getItem(KEY) || '[]');
      list.push({ type, text });
      sessionStorage.setItem(KEY, JSON.stringify(list));
    } catch {}
  };
  const text = (a) => a.map((x) => (x instanceof Error ? x.message : typeof x === 'object' ? (() => { try { return JSON.stringify(x); } catch { return String(x); } })() : String(x))).join(' ');
  for (const [name, type] of [['error', 'error'], ['warn', 'warning']]) {
    const original = console[name];
    console[name] = function (...a) { push(type, text(a)); return original.apply(this, a); };
  }
  addEventListener('error', (e) => push('pageerror', e.error?.stack ?? e.message));
  addEventListener('unhandledrejection', (e) => push('pageerror', e.reason?.stack ?? String(e.reason)));
})();
`;
  return record + inits.map((f) => `(${f})();\n`).join('');
}

/** Page-side: the recorded messages since the last drain. */
const DRAIN = `const drain = () => {
  try {
    const list = JSON.parse(sessionStorage.getItem(${JSON.stringify(ERRORS_KEY)}) || '[]');
    sessionStorage.removeItem(${JSON.stringify(ERRORS_KEY)});
    return list;
  } catch { return []; }
};`;

const injectInit = (html) => {
  const tag = `<script src="${INIT_PATH}"></script>`;
  const at = html.search(/<head[^>]*>/i);
  if (at < 0) return tag + html;
  const end = html.indexOf('>', at) + 1;
  return html.slice(0, end) + tag + html.slice(end);
};

/** Parses a raw HTTP response head into lower-cased headers. */
const parseHead = (head) =>
  Object.fromEntries(
    (head ?? '').split('\r\n').slice(1).filter((l) => l.includes(':')).map((l) => {
      const i = l.indexOf(':');
      return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
    }),
  );

/**
 * WebKit with the same options and the same result as harness.mjs's
 * openBrowser() (which calls this for engine 'webkit').
 */
export async function openWebKit({ routes, csp, external, executablePath, log }) {
  const missing = webkitMissing();
  if (missing) throw new Error(missing);
  const binary = executablePath ?? DEFAULT_MINIBROWSER;
  const versionLine = webkitVersionLine();
  let driver = await startDriver(DEFAULT_WEBKIT_DRIVER, log);
  let base = driver.base;

  // The routes as served: HTML pages start with the init script.
  const inits = [];
  let srv = { origin: null, close: async () => {}, server: null };
  if (routes) {
    const served = new Map(routes);
    for (const [path, entry] of routes) {
      if (!entry.file?.endsWith('.html')) continue;
      served.set(path, { file: entry.file, get bytes() { return Buffer.from(injectInit(readFileSync(entry.file, 'utf8'))); } });
    }
    served.set(INIT_PATH, { get bytes() { return Buffer.from(initScript(inits)); } });
    srv = await startServer({ routes: served, csp });
  }
  const origin = srv.origin;
  const requests = [];
  const responses = [];
  const violations = new Set();
  const errors = [];
  const scratch = await mkdtemp(join(tmpdir(), 'iciia-webkit-files-'));

  const allowed = requestRule({ origin, external, routes });
  const hasBodyOf = (req) => Number(req.headers['content-length'] ?? 0) > 0 || !!req.headers['transfer-encoding'];
  srv.server?.on('request', (req, res) => {
    const url = origin + req.url;
    const path = new URL(url).pathname;
    if (path === INIT_PATH) return; // the harness's own script
    // WebKit itself asks every origin for its icon (Chromium headless and
    // Firefox do not): the browser's request, not the page's; it is a 404.
    if (path === '/favicon.ico' && req.method === 'GET' && !hasBodyOf(req)) return;
    const hasBody = hasBodyOf(req);
    requests.push({ method: req.method, url, hasBody });
    if (!allowed(req.method, url, hasBody)) violations.add(`${req.method} ${url}`);
    res.on('finish', () => responses.push({ url, status: res.statusCode, headers: parseHead(res._header) }));
  });

  // Every other host: recorded and refused.
  const proxy = createServer((req, res) => {
    violations.add(`${req.method} ${req.url}`);
    res.writeHead(403).end();
  });
  proxy.on('connect', (req, socket) => {
    violations.add(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyAt = `127.0.0.1:${proxy.address().port}`;

  let session = null;
  const cleanup = async () => {
    if (session) await command(base, 'DELETE', `/session/${session}`).catch(() => {});
    session = null;
    await srv.close();
    await new Promise((r) => proxy.close(r));
    await rm(scratch, { recursive: true, force: true });
  };

  // One command at a time, in the window it is for.
  let queue = Promise.resolve();
  let current = null;
  const inWindow = (handle, fn) => {
    const run = queue.then(async () => {
      if (handle && handle !== current) {
        await command(base, 'POST', `/session/${session}/window`, { handle });
        current = handle;
      }
      return fn(`/session/${session}`);
    });
    queue = run.catch(() => {});
    return run;
  };
  const record = (list) => {
    for (const { type, text } of list ?? []) {
      if (type === 'error') errors.push(`console.error: ${text}`);
      if (type === 'pageerror') errors.push(`page error: ${text}`);
      log(type === 'pageerror' ? `[page error] ${text}` : `[page console.${type}] ${text}`);
    }
  };

  try {
    const caps = {
      'webkitgtk:browserOptions': { binary, args: ['--automation'] },
      timeouts: { script: 600_000, pageLoad: 120_000, implicit: 0 },
      proxy: { proxyType: 'manual', httpProxy: proxyAt, sslProxy: proxyAt, noProxy: ['127.0.0.1'] },
    };
    // Once in a few dozen starts (seen under a load of 12 on 2 cores) the
    // new session never answers; a new driver and display then start it.
    let created;
    try {
      created = await command(base, 'POST', '/session', { capabilities: { alwaysMatch: caps } }, SESSION_TIMEOUT_MS);
    } catch (e) {
      log(`[webkit] no session after ${SESSION_TIMEOUT_MS / 1000} s (${e.message}): restarting WebKitWebDriver`);
      driver.restart();
      driver = await startDriver(DEFAULT_WEBKIT_DRIVER, log);
      base = driver.base;
      created = await command(base, 'POST', '/session', { capabilities: { alwaysMatch: caps } }, SESSION_TIMEOUT_MS);
    }
    session = created.sessionId;
    const browserVersion = created.capabilities.browserVersion;
    const first = await command(base, 'GET', `/session/${session}/window`);
    current = first;
    await command(base, 'POST', `/session/${session}/window/rect`, { width: 1280, height: 900 });
    let firstFree = true;
    let callId = 0;

    const wrapPage = (handle) => {
      const sync = (fn) => inWindow(handle, fn);
      const drain = () =>
        sync(async (s) => record(await command(base, 'POST', `${s}/execute/sync`, { script: `${DRAIN} return drain();`, args: [] })));
      /** The server's response to the last request for `url` at or after `from`. */
      const responseFor = (url, from) => {
        const path = new URL(url).pathname;
        const r = responses.slice(from).reverse().find((x) => new URL(x.url).pathname === path);
        return r && { status: () => r.status, headers: () => ({ ...r.headers }), url: () => r.url };
      };
      const navigate = async (how) => {
        await drain().catch(() => {});
        const from = responses.length;
        const url = await sync(async (s) => {
          await how(s);
          return command(base, 'GET', `${s}/url`);
        });
        await drain();
        return responseFor(url, from) ?? null;
      };
      const evaluate = (fn, arg) => evaluateSource(typeof fn === 'function' ? fn.toString() : `() => (${fn})`, arg);
      const evaluateSource = async (source, arg) => {
        const id = ++callId;
        const startScript = `${DRAIN}
const [id, arg] = arguments;
const calls = (window.__iciiaCalls ??= new Map());
calls.set(id, Promise.resolve().then(() => (${source})(arg)).then(
  (value) => ({ ok: true, value: value === undefined ? null : value }),
  (e) => ({ ok: false, message: e?.message ?? String(e), stack: e?.stack ?? '' })));
return drain();`;
        const pollScript = `${DRAIN}
const [id, ms, done] = arguments;
const call = window.__iciiaCalls?.get(id);
if (!call) { done({ gone: true, errors: drain() }); return; }
Promise.race([call, new Promise((r) => setTimeout(() => r(null), ms))]).then((r) => {
  if (r) window.__iciiaCalls.delete(id);
  done({ result: r, errors: drain() });
});`;
        record(await sync((s) => command(base, 'POST', `${s}/execute/sync`, { script: startScript, args: [id, arg ?? null] })));
        for (;;) {
          const p = await sync((s) => command(base, 'POST', `${s}/execute/async`, { script: pollScript, args: [id, POLL_MS] }));
          record(p.errors);
          if (p.gone) throw new Error('evaluate: the page navigated away before the function settled');
          if (!p.result) continue;
          if (p.result.ok) return p.result.value;
          const e = new Error(p.result.message);
          e.stack = `${p.result.message}\n    in the page: ${p.result.stack}`;
          throw e;
        }
      };
      const el = (s, selector) => command(base, 'POST', `${s}/element`, { using: 'css selector', value: selector });
      const elementId = (ref) => ref['element-6066-11e4-a52e-4f735466cecf'];
      const query = (selector, body) =>
        sync((s) => command(base, 'POST', `${s}/execute/sync`, { script: `const e = document.querySelector(arguments[0]); ${body}`, args: [selector] }));
      return {
        engine: 'webkit',
        goto: (url) => navigate((s) => command(base, 'POST', `${s}/url`, { url })),
        reload: () => navigate((s) => command(base, 'POST', `${s}/refresh`, {})),
        evaluate,
        waitForFunction: async (fn, arg, o = {}) => {
          const deadline = Date.now() + (o.timeout ?? 30_000);
          for (;;) {
            // Truthiness only: the value may be an object WebDriver cannot send back (window.iciiaDemo).
            const v = await evaluateSource(`(a) => Promise.resolve((${fn})(a)).then((v) => !!v)`, arg).catch(() => null);
            if (v) return v;
            if (Date.now() > deadline) throw new Error(`waitForFunction: still false after ${o.timeout ?? 30_000} ms: ${fn}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        /** Runs `fn` at the start of every HTML page the server sends (any tab of this browser). */
        addInitScript: async (fn) => {
          inits.push(fn.toString());
        },
        locator: (selector) => ({
          textContent: () => query(selector, 'if (!e) throw new Error("no element " + arguments[0]); return e.textContent;'),
          isVisible: () => query(selector, 'return !!e && e.checkVisibility();'),
          count: () => sync((s) => command(base, 'POST', `${s}/execute/sync`, { script: 'return document.querySelectorAll(arguments[0]).length;', args: [selector] })),
        }),
        screenshot: async (o = {}) => {
          const png = await sync(async (s) => {
            const shot = async () => Buffer.from(await command(base, 'GET', `${s}/screenshot`), 'base64');
            if (!o.fullPage) return shot();
            // WebDriver screenshots the viewport: for the whole page, the
            // window is made as tall as the document, then put back.
            const { width, height } = await command(base, 'GET', `${s}/window/rect`);
            const { inner, page } = await command(base, 'POST', `${s}/execute/sync`, {
              script: 'return { inner: innerHeight, page: document.documentElement.scrollHeight };', args: [],
            });
            if (page <= inner) return shot();
            await command(base, 'POST', `${s}/window/rect`, { width, height: height + page - inner });
            try {
              return await shot();
            } finally {
              await command(base, 'POST', `${s}/window/rect`, { width, height });
            }
          });
          const out = o.clip ? cropPng(png, o.clip) : png;
          if (o.path) await writeFile(o.path, out);
          return out;
        },
        setInputFiles: async (selector, { name, buffer }) => {
          const dir = await mkdtemp(join(scratch, 'upload-'));
          const file = join(dir, name);
          await writeFile(file, buffer);
          await sync(async (s) => command(base, 'POST', `${s}/element/${elementId(await el(s, selector))}/value`, { text: file }));
        },
        close: () =>
          sync(async (s) => {
            await command(base, 'DELETE', `${s}/window`);
            current = null;
          }),
      };
    };

    const newPage = async () => {
      if (firstFree) {
        firstFree = false;
        return wrapPage(first);
      }
      const { handle } = await inWindow(null, (s) => command(base, 'POST', `${s}/window/new`, { type: 'tab' }));
      return wrapPage(handle);
    };
    return {
      engine: 'webkit',
      origin,
      context: { newPage, close: cleanup },
      stopServer: () => srv.close(),
      allowOrigin: (url) => external.add(new URL(url).origin),
      requests,
      errors,
      violations: () => [...violations],
      newPage,
      versions: async () => ({
        product: `WebKitGTK ${browserVersion}`,
        engineVersion: browserVersion,
        versionLine,
        executablePath: binary,
        driver: `WebKitWebDriver ${browserVersion} (W3C WebDriver)`,
      }),
      close: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
