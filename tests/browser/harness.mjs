// Headless browsers over the allow-list server of scripts/server.mjs, shared
// by the browser tests and the in-browser benchmarks (tests/bench/): Debian's
// chromium driven by playwright-core, or Debian's firefox-esr driven by
// puppeteer-core over WebDriver BiDi (firefox.mjs), or WebKitGTK's MiniBrowser
// driven by Debian's WebKitWebDriver over W3C WebDriver (webkit.mjs). No
// driver downloads a browser. The engine is `engine`, by default ICIIA_BROWSER (chromium when
// unset): scripts/test.sh runs the browser tests once per engine, each file
// starting its browser once.
//
//   const b = await openBrowser({ routes });    // server + browser + request audit
//   const page = await b.newPage();             // console errors and page errors recorded
//   await page.goto(b.origin + '/examples/demo/');
//   b.requests, b.violations(), b.errors
//   await b.close();
//
// Offline by construction: the server binds 127.0.0.1 and serves only the
// routes; every request of the context (pages, workers) goes through a
// playwright route that lets through only same-origin GETs of those routes
// (anything else is aborted and recorded as a violation); Chromium runs with
// background networking, component updates, sync and QUIC off and a host
// resolver that resolves no name at all.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DEMO_CSP, DEMO_PATH, startServer } from '../../scripts/server.mjs';
import { DEFAULT_FIREFOX, loadPuppeteer, openFirefox } from './firefox.mjs';
import { requestRule } from './request_rule.mjs';
import { openWebKit, webkitMissing } from './webkit.mjs';

export const DEFAULT_CHROMIUM = process.env.ICIIA_CHROMIUM || '/usr/bin/chromium';
export const ENGINE = process.env.ICIIA_BROWSER || 'chromium';
export const ENGINES = ['chromium', 'firefox', 'webkit'];
if (!ENGINES.includes(ENGINE)) throw new Error(`ICIIA_BROWSER: expected one of ${ENGINES.join(', ')}, got ${ENGINE}`);

async function loadPlaywright() {
  const require = createRequire(import.meta.url);
  try {
    return { chromium: require('playwright-core').chromium, version: require('playwright-core/package.json').version };
  } catch (e) {
    throw new Error(`playwright-core is not installed in tests/browser (run scripts/setup.sh, or \`npm ci\` there): ${e.message}`);
  }
}

/**
 * Why browser tests cannot run here (Chromium or playwright-core absent), or
 * null when they can. The only reasons a browser test may skip.
 */
export async function browserMissing(executablePath = null, engine = ENGINE) {
  if (engine === 'webkit') return webkitMissing();
  if (engine === 'firefox') {
    const firefox = executablePath ?? DEFAULT_FIREFOX;
    if (!existsSync(firefox)) return `${firefox} not found: install Debian's firefox-esr (scripts/setup.sh does)`;
    try {
      await loadPuppeteer();
    } catch (e) {
      return e.message;
    }
    return null;
  }
  executablePath ??= DEFAULT_CHROMIUM;
  if (!existsSync(executablePath))
    return `${executablePath} not found: install Debian's chromium (scripts/setup.sh does: apt-get install chromium)`;
  try {
    await loadPlaywright();
  } catch (e) {
    return e.message;
  }
  return null;
}

function chromiumVersionLine(executablePath) {
  try {
    return execFileSync(executablePath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 }).trim();
  } catch {
    return null;
  }
}

/**
 * Starts the server on `routes` (see scripts/server.mjs) and a persistent
 * Chromium context (IndexedDB, caches and service workers live in
 * `userDataDir`: pass one to reuse a profile across launches, it is then
 * yours to remove; by default a fresh temporary one, removed by close()).
 * @param {object} o
 * @param {Map<string, object>} [o.routes] what the harness's server serves;
 *   without routes it starts none, and pages may visit only the origins
 *   given to allowOrigin() (servers already running: a bundler's dev or
 *   preview server), any GET there
 * @param {string|null} [o.csp] the Content-Security-Policy header (null: none)
 * @param {'block'|'allow'} [o.serviceWorkers]
 * @param {(line: string) => void} [o.log] console warnings of the pages
 * @param {number} [o.port] the server's port (0: any free one); a fixed one
 *   keeps the origin, and so its storage, across launches on one profile
 */
export async function openBrowser({
  engine = ENGINE,
  routes = null,
  port = 0,
  csp = DEMO_CSP,
  executablePath = null,
  userDataDir = null,
  serviceWorkers = 'block',
  log = (l) => console.error(l),
}) {
  const missing = await browserMissing(executablePath, engine);
  if (missing) throw new Error(missing);
  if (engine === 'webkit') return openWebKit({ routes, csp, external: new Set(), executablePath, log });
  if (engine === 'firefox') {
    const srv = routes ? await startServer({ routes, csp, port }) : { origin: null, close: async () => {} };
    return openFirefox({ srv, routes, external: new Set(), executablePath: executablePath ?? DEFAULT_FIREFOX, userDataDir, serviceWorkers, log });
  }
  executablePath ??= DEFAULT_CHROMIUM;
  const { chromium, version: playwrightVersion } = await loadPlaywright();
  const versionLine = chromiumVersionLine(executablePath); // before the browser starts: nothing else runs meanwhile
  const srv = routes ? await startServer({ routes, csp, port }) : { origin: null, close: async () => {} };
  const origin = srv.origin;
  const external = new Set();
  const ownProfile = !userDataDir;
  const profile = userDataDir ?? (await mkdtemp(join(tmpdir(), 'iciia-chromium-')));
  const requests = [];
  const violations = new Set();
  const errors = [];
  let context = null;

  // Best effort if the process ends without close() (e.g. a test timed out).
  const removeProfileAtExit = () => rmSync(profile, { recursive: true, force: true });
  if (ownProfile) process.once('exit', removeProfileAtExit);
  const cleanup = async () => {
    await context?.close().catch(() => {});
    await srv.close();
    if (ownProfile) {
      await rm(profile, { recursive: true, force: true });
      process.off('exit', removeProfileAtExit);
    }
  };

  const watch = (page) => {
    page.on('websocket', (ws) => violations.add(`WebSocket ${ws.url()}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
      if (m.type() === 'error' || m.type() === 'warning') log(`[page console.${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => {
      errors.push(`page error: ${e.message}`);
      log(`[page error] ${e.stack ?? e.message}`);
    });
    page.on('crash', () => errors.push('page crashed'));
    return page;
  };

  try {
    const isRoot = process.getuid?.() === 0;
    context = await chromium.launchPersistentContext(profile, {
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
      serviceWorkers,
      acceptDownloads: false,
      viewport: { width: 1280, height: 900 },
      timeout: 120_000,
    });

    const rule = requestRule({ origin, external, routes });
    const allowed = (request) => rule(request.method(), request.url(), !!request.postDataBuffer());
    // Every request the context makes (pages, workers) is recorded, and any
    // not allowed is a violation; the route lets through only allowed ones,
    // so nothing else ever leaves the browser.
    context.on('request', (request) => {
      requests.push({ method: request.method(), url: request.url(), hasBody: !!request.postDataBuffer() });
      if (!allowed(request)) violations.add(`${request.method()} ${request.url()}`);
    });
    await context.route('**/*', (route, request) => {
      if (allowed(request)) return route.continue();
      violations.add(`${request.method()} ${request.url()}`);
      return route.abort('blockedbyclient');
    });
    context.on('page', watch);
    for (const p of context.pages()) watch(p);

    return {
      engine: 'chromium',
      origin,
      context,
      /** Lets pages GET anything from `url`'s origin (a server the caller runs). */
      allowOrigin: (url) => external.add(new URL(url).origin),
      /** Stops serving (e.g. to check that a page works offline); close() still cleans up. */
      stopServer: () => srv.close(),
      requests,
      errors,
      /** Requests off the allow-list so far (blocked, but a failure). */
      violations: () => [...violations],
      /** A page of this context, its console errors and page errors recorded in `errors`. */
      newPage: () => context.newPage(),
      /** The browser's main process (playwright does not expose it for a persistent context: found by its profile). */
      browserPid: () => chromiumPid(profile),
      /** Browser and harness versions, for benchmark headers. */
      versions: async () => {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        const { product } = await cdp.send('Browser.getVersion');
        await cdp.detach();
        await page.close();
        const engineVersion = product.split('/').pop();
        return { product, engineVersion, chromiumVersion: engineVersion, versionLine, executablePath, playwrightVersion, driver: `playwright-core ${playwrightVersion}` };
      },
      close: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** The pid of the Chromium main process on `profile` (the one without --type=), or null. */
function chromiumPid(profile) {
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let args;
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (args.includes(`--user-data-dir=${profile}`) && !args.some((a) => a.startsWith('--type='))) return Number(entry);
  }
  return null;
}

/**
 * Opens the demo (scripts/server.mjs's DEMO_PATH, plus `query`) in `page` (by
 * default a new one), or reloads `page`, and waits for window.iciiaDemo.ready;
 * returns its info and the page's HTTP response.
 */
export async function openDemo(browser, { query = '', page = null, reload = false } = {}) {
  page ??= await browser.newPage();
  const options = { waitUntil: 'load', timeout: 60_000 };
  const response = reload ? await page.reload(options) : await page.goto(`${browser.origin}${DEMO_PATH}${query}`, options);
  try {
    await page.waitForFunction(() => window.iciiaDemo, null, { timeout: 60_000 });
  } catch {
    throw new Error(`the demo did not start (window.iciiaDemo missing); page errors:\n${browser.errors.join('\n')}`);
  }
  const info = await page.evaluate(() => window.iciiaDemo.ready);
  return { page, response, info };
}
