// The Node half of `node tests/bench/backbone.mjs --browser`: the allow-list
// of files the benchmark page needs, served and driven by the shared harness
// (scripts/server.mjs: loopback allow-list server; tests/browser/harness.mjs:
// headless Debian Chromium under playwright-core, every request audited) on
// page.html, whose window.iciiaBench (page.mjs) does the measuring.
//
//   const bench = await openBrowserBench({ models: ['a.onnx'], input: Float32Array });
//   bench.env                      // clock, versions, isolation: what the header needs
//   const r = await bench.runModel(0, { dims, warmup, reps, profile });
//   const t = await bench.runThreads(0, { dims, warmup, reps, gapMs });  // ours, 1 against `threads`
//   const audit = await bench.close();  // { requests, violations }
//   reportAudit(audit, bench.env);       // prints it; sets the exit code on a violation

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';

import { addPackageRoutes, ROOT, urlPath } from '../../../scripts/server.mjs';
import { DEFAULT_CHROMIUM, openBrowser } from '../../browser/harness.mjs';
import { ORT_DIST } from './ort_web.mjs';
import { TFJS_DIST, TFJS_SCRIPTS } from './tfjs_web.mjs';

const ORT_PROJECT = join(ROOT, 'tests/ort');
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

/**
 * Adds onnxruntime-web's wasm build (ESM entry, glue, binary; from tests/ort)
 * to `routes` under ORT_DIST; returns its version.
 */
export function addOrtRoutes(routes) {
  const require = createRequire(join(ORT_PROJECT, 'package.json'));
  let dir;
  try {
    dir = dirname(require.resolve('onnxruntime-web')); // the `require` export lives in dist/
  } catch (e) {
    throw new Error(`onnxruntime-web is not installed in tests/ort (run scripts/setup.sh, or \`npm ci\` there): ${e.message}`);
  }
  for (const f of ORT_FILES) {
    if (!existsSync(join(dir, f))) throw new Error(`missing ${join(dir, f)}`);
    routes.set(`${ORT_DIST}${f}`, { file: join(dir, f) });
  }
  return JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')).version;
}

/**
 * Adds TF.js's browser builds (tfjs-core, the wasm backend) and the one
 * binary the page makes it use (SIMD, non-threaded) under TFJS_DIST, and the
 * modules that build the graph; returns the wasm backend's version, or throws
 * saying what is missing.
 */
export function addTfjsRoutes(routes) {
  const require = createRequire(join(ORT_PROJECT, 'package.json'));
  const dirs = {};
  for (const pkg of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm']) {
    try {
      dirs[pkg] = dirname(require.resolve(`${pkg}/package.json`));
    } catch (e) {
      throw new Error(`${pkg} is not installed in tests/ort (run scripts/setup.sh, or \`npm ci\` there): ${e.message}`);
    }
  }
  const files = {
    [TFJS_SCRIPTS[0]]: join(dirs['@tensorflow/tfjs-core'], 'dist', TFJS_SCRIPTS[0]),
    [TFJS_SCRIPTS[1]]: join(dirs['@tensorflow/tfjs-backend-wasm'], 'dist', TFJS_SCRIPTS[1]),
    'tfjs-backend-wasm-simd.wasm': join(dirs['@tensorflow/tfjs-backend-wasm'], 'dist', 'tfjs-backend-wasm-simd.wasm'),
  };
  for (const [name, file] of Object.entries(files)) {
    if (!existsSync(file)) throw new Error(`missing ${file}`);
    routes.set(`${TFJS_DIST}${name}`, { file });
  }
  for (const f of ['tests/bench/browser/tfjs_web.mjs', 'tests/ort/tfjs_wasm.mjs', 'tests/ort/tfjs_graph.mjs', 'tests/ort/onnx_proto.mjs'])
    routes.set(urlPath(join(ROOT, f)), { file: join(ROOT, f) });
  return JSON.parse(readFileSync(join(dirs['@tensorflow/tfjs-backend-wasm'], 'package.json'), 'utf8')).version;
}

/**
 * The allow-list: URL path → { file } or { bytes }. The page, its modules,
 * the package, onnxruntime-web's wasm build, the models and the input.
 */
export const PAGE = '/tests/bench/browser/page.html';

/** The benchmark page, its modules, the package and onnxruntime-web's wasm build; returns onnxruntime-web's version. */
export function addPageRoutes(files) {
  for (const f of ['tests/bench/browser/page.html', 'tests/bench/browser/page.mjs', 'tests/bench/browser/measure.mjs',
    'tests/bench/browser/ort_web.mjs', 'tests/bench/clock.mjs'])
    files.set(urlPath(join(ROOT, f)), { file: join(ROOT, f) });
  addPackageRoutes(files);
  return addOrtRoutes(files);
}

function allowList(models, input) {
  const files = new Map();
  const ortVersion = addPageRoutes(files);
  let tfjsVersion = null, tfjsError = null;
  try {
    tfjsVersion = addTfjsRoutes(files);
  } catch (e) {
    tfjsError = e.message;
  }
  models.forEach((m, i) => {
    if (!existsSync(m)) throw new Error(`missing ${m}`);
    files.set(`/models/${i}/${encodeURIComponent(basename(m))}`, { file: m });
  });
  files.set('/input.f32', { bytes: new Uint8Array(input.buffer, input.byteOffset, input.byteLength) });
  return { files, ortVersion, tfjsVersion, tfjsError };
}

/**
 * Starts the server and the browser, opens the page and runs its init().
 * @param {{models: string[], input: Float32Array, executablePath?: string, settleMs?: number, threads?: number,
 *   log?: (line: string) => void}} o threads: ours and onnxruntime-web on that many threads
 *   settleMs: how long the page waits, once loaded, before it measures (see page.mjs)
 */
export async function openBrowserBench({
  models,
  input,
  executablePath = DEFAULT_CHROMIUM,
  settleMs = 2000,
  threads = 1,
  log = (l) => console.error(l),
}) {
  const { files, ortVersion, tfjsVersion, tfjsError } = allowList(models, input);
  // No CSP: this page measures engines, the demo's tests check the policy.
  const browser = await openBrowser({ routes: files, csp: null, executablePath, log });
  try {
    const versions = await browser.versions();
    const page = await browser.newPage();
    await page.goto(`${browser.origin}${PAGE}#threads=${threads}`, { waitUntil: 'load', timeout: 60_000 });
    await page.waitForFunction(() => window.iciiaBench || window.iciiaBenchError, null, { timeout: 120_000 });
    const pageError = await page.evaluate(() => window.iciiaBenchError ?? null);
    if (pageError) throw new Error(`the page failed to load its modules:\n${pageError}`);
    const pageEnv = await page.evaluate((o) => window.iciiaBench.init(o), { settleMs, withTfjs: tfjsVersion !== null && threads === 1 });
    pageEnv.tfjsError ??= tfjsError;

    const env = {
      ...pageEnv,
      ...versions, // product e.g. Chrome/156.0.8078.79; versionLine e.g. Chromium 156.0.8078.79 built on Debian GNU/Linux 12 (bookworm)
      ortPackageVersion: ortVersion,
      tfjsPackageVersion: tfjsVersion,
      origin: browser.origin,
      allowListSize: files.size,
    };

    // Calls the page's iciiaBench[fn] on model `i` (an index into `models`) and the input.
    const onModel = (fn, i, cfg) =>
      page.evaluate(([f, c]) => window.iciiaBench[f](c), [fn, {
        modelUrl: `/models/${i}/${encodeURIComponent(basename(models[i]))}`,
        inputUrl: '/input.f32',
        ...cfg,
      }]);

    return {
      env,
      /** Requests off the allow-list so far (blocked, but a failure). */
      violations: browser.violations,
      /** Runs model `i` in the page. */
      runModel: (i, { dims, warmup, reps, profile }) => onModel('runModel', i, { dims, warmup, reps, profile }),
      /** Our model `i` on one thread against `threads` (tests/bench/threads.mjs --browser). */
      runThreads: (i, { dims, warmup, reps, gapMs }) => onModel('runThreads', i, { dims, warmup, reps, gapMs }),
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

/**
 * Prints the request audit of a closed bench: every request off the
 * allow-list as an error (and exit code 1), or how many there were, all on it.
 */
export function reportAudit(audit, env) {
  if (audit.violations.length) {
    console.error(`\nerror: the page requested ${audit.violations.length} URL(s) off the allow-list (blocked):`);
    for (const v of audit.violations) console.error(`  ${v}`);
    process.exitCode = 1;
  } else {
    console.log(`\n${audit.requests} page requests, all on the allow-list (${env.allowListSize} files), all to ${env.origin}`);
  }
}
