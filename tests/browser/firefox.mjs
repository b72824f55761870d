// Debian's firefox-esr for the browser harness (harness.mjs), driven by
// puppeteer-core over WebDriver BiDi (Playwright's Firefox needs its own
// patched build). openFirefox() returns what openBrowser() returns for
// Chromium; its pages are wrapped to offer the part of Playwright's Page the
// tests use, so one test runs in either engine.
//
// Offline as the Chromium side is: the allow-list server binds 127.0.0.1;
// every other host goes to a proxy on a port where nothing listens, so no
// request leaves the machine; every request of a page is recorded, and any
// that is not a same-origin GET of a served file is a violation.

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { requestRule } from './request_rule.mjs';

export const DEFAULT_FIREFOX = process.env.ICIIA_FIREFOX || '/usr/bin/firefox-esr';

export async function loadPuppeteer() {
  const require = createRequire(import.meta.url);
  try {
    return { puppeteer: require('puppeteer-core'), version: require('puppeteer-core/package.json').version };
  } catch (e) {
    throw new Error(`puppeteer-core is not installed in tests/browser (run scripts/setup.sh, or \`npm ci\` there): ${e.message}`);
  }
}

export function firefoxVersionLine(executablePath) {
  try {
    return execFileSync(executablePath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 }).trim();
  } catch {
    return null;
  }
}

const MIME = { '.png': 'image/png', '.txt': 'text/plain', '.jpg': 'image/jpeg' };

/** The subset of Playwright's Page the tests use, over a puppeteer Page. */
function wrapPage(page, scratch) {
  const locator = (selector) => ({
    textContent: () => page.$eval(selector, (e) => e.textContent),
    isVisible: () => page.$eval(selector, (e) => e.checkVisibility()).catch(() => false),
    count: () => page.$$eval(selector, (es) => es.length),
  });
  return {
    raw: page,
    goto: (url, o = {}) => page.goto(url, { waitUntil: o.waitUntil ?? 'load', timeout: o.timeout ?? 60_000 }),
    reload: (o = {}) => page.reload({ waitUntil: o.waitUntil ?? 'load', timeout: o.timeout ?? 60_000 }),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    waitForFunction: (fn, arg, o = {}) => page.waitForFunction(fn, { timeout: o.timeout ?? 30_000, polling: 100 }, arg),
    addInitScript: (fn) => page.evaluateOnNewDocument(fn),
    locator,
    screenshot: async (o = {}) => Buffer.from(await page.screenshot(o)),
    setInputFiles: async (selector, { name, buffer }) => {
      const dir = await mkdtemp(join(scratch, 'upload-'));
      const file = join(dir, name);
      await writeFile(file, buffer);
      const input = await page.$(selector);
      await input.uploadFile(file);
    },
    on: (event, fn) => page.on(event, fn),
    close: () => page.close(),
  };
}

/**
 * Firefox with the same options and the same result as harness.mjs's
 * openBrowser() (which calls this for engine 'firefox').
 */
export async function openFirefox({ srv, routes, external, executablePath, userDataDir, serviceWorkers, log }) {
  const { puppeteer, version: puppeteerVersion } = await loadPuppeteer();
  const versionLine = firefoxVersionLine(executablePath);
  const origin = srv.origin;
  const ownProfile = !userDataDir;
  const profile = userDataDir ?? (await mkdtemp(join(tmpdir(), 'iciia-firefox-')));
  const scratch = await mkdtemp(join(tmpdir(), 'iciia-firefox-files-'));
  const requests = [];
  const violations = new Set();
  const errors = [];
  let browser = null;

  const cleanup = async () => {
    await browser?.close().catch(() => {});
    await srv.close();
    await rm(scratch, { recursive: true, force: true });
    if (ownProfile) await rm(profile, { recursive: true, force: true });
  };

  const allowed = requestRule({ origin, external, routes });

  const watch = (page) => {
    page.on('request', (r) => {
      const hasBody = r.hasPostData?.() ?? false;
      if (/^(data|blob|about):/.test(r.url())) return;
      requests.push({ method: r.method(), url: r.url(), hasBody });
      if (!allowed(r.method(), r.url(), hasBody)) violations.add(`${r.method()} ${r.url()}`);
    });
    page.on('console', (m) => {
      const type = m.type() === 'warn' ? 'warning' : m.type();
      if (type === 'error') errors.push(`console.error: ${m.text()}`);
      if (type === 'error' || type === 'warning') log(`[page console.${type}] ${m.text()}`);
    });
    page.on('pageerror', (e) => {
      errors.push(`page error: ${e.message}`);
      log(`[page error] ${e.stack ?? e.message}`);
    });
    return wrapPage(page, scratch);
  };

  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath,
      headless: true,
      userDataDir: profile,
      protocolTimeout: 300_000,
      timeout: 120_000,
      defaultViewport: { width: 1280, height: 900 },
      extraPrefsFirefox: {
        // Every host but loopback goes to a proxy nobody answers.
        'network.proxy.type': 1,
        'network.proxy.http': '127.0.0.1',
        'network.proxy.http_port': 9,
        'network.proxy.ssl': '127.0.0.1',
        'network.proxy.ssl_port': 9,
        'network.proxy.no_proxies_on': '127.0.0.1',
        'network.dns.disablePrefetch': true,
        'network.prefetch-next': false,
        'dom.serviceWorkers.enabled': serviceWorkers === 'allow',
        // A profile reopened after its browser was killed (crash.test.mjs)
        // starts as usual: no session restore, no safe-mode prompt.
        'browser.sessionstore.resume_from_crash': false,
        'toolkit.startup.max_resumed_crashes': -1,
        // navigator.storage.persist() answered without a prompt nobody
        // could click (granted, as a user would: durability.test.mjs).
        'dom.storageManager.prompt.testing': true,
        'dom.storageManager.prompt.testing.allow': true,
      },
    });
    const context = {
      newPage: async () => watch(await browser.newPage()),
      close: () => browser.close(),
    };
    return {
      engine: 'firefox',
      origin,
      context,
      stopServer: () => srv.close(),
      allowOrigin: (url) => external.add(new URL(url).origin),
      requests,
      errors,
      violations: () => [...violations],
      newPage: context.newPage,
      /** The browser's main process. */
      browserPid: () => browser.process()?.pid ?? null,
      versions: async () => {
        const product = await browser.version();
        return { product, engineVersion: product.split('/').pop(), versionLine, executablePath, driver: `puppeteer-core ${puppeteerVersion}` };
      },
      close: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
