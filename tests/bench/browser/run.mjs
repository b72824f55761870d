// The Node half of `node tests/bench/backbone.mjs --browser`: the allow-list
// of files the benchmark page needs, served and driven by the shared harness
// (scripts/server.mjs: loopback allow-list server; tests/browser/harness.mjs:
// headless Debian Chromium under playwright-core, every request audited) on
// page.html, whose window.iciiaBench (page.mjs) does the measuring.
//
//   const bench = await openBrowserBench({ models: ['a.onnx'], input: Float32Array });
//   bench.env                      // clock, versions, isolation: what the header needs
//   const r = await bench.runModel(0, { dims, warmup, reps, profile });
//   const audit = await bench.close();  // { requests, violations }

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

import { addTree, ROOT, urlPath } from '../../../scripts/server.mjs';
import { DEFAULT_CHROMIUM, openBrowser } from '../../browser/harness.mjs';

export { DEFAULT_CHROMIUM };
const ORT_PROJECT = join(ROOT, 'tests/ort');
const PAGE = '/tests/bench/browser/page.html';
const ORT_DIST = '/onnxruntime-web/dist/'; // as in page.mjs
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

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
    add(urlPath(join(ROOT, f)), join(ROOT, f));
  if (!existsSync(join(ROOT, 'web/dist/index.js'))) throw new Error('web/dist/index.js missing: run scripts/build.sh');
  addTree(files, join(ROOT, 'web/dist'), (n) => n.endsWith('.js'));
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
  const { files, ortVersion } = allowList(models, input);
  // No CSP: this page measures engines, the demo's tests check the policy.
  const browser = await openBrowser({ routes: files, csp: null, executablePath, log });
  try {
    const versions = await browser.versions();
    const page = await browser.newPage();
    await page.goto(browser.origin + PAGE, { waitUntil: 'load', timeout: 60_000 });
    await page.waitForFunction(() => window.iciiaBench || window.iciiaBenchError, null, { timeout: 120_000 });
    const pageError = await page.evaluate(() => window.iciiaBenchError ?? null);
    if (pageError) throw new Error(`the page failed to load its modules:\n${pageError}`);
    const pageEnv = await page.evaluate((o) => window.iciiaBench.init(o), { settleMs });

    const env = {
      ...pageEnv,
      ...versions, // product e.g. Chrome/156.0.8078.79; versionLine e.g. Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)
      ortPackageVersion: ortVersion,
      origin: browser.origin,
      allowListSize: files.size,
    };

    return {
      env,
      /** Requests off the allow-list so far (blocked, but a failure). */
      violations: browser.violations,
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
        await browser.close();
        return { requests: browser.requests.length, violations: browser.violations() };
      },
    };
  } catch (e) {
    await browser.close();
    throw e;
  }
}
