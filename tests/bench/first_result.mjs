#!/usr/bin/env node
// Time to first result in Chromium: from the navigation's start (0) to the
// first recognize() resolved, on a cold browser, for our backend ('native')
// and onnxruntime-web's ('ort'), on each bundle of tests/bench/bundles.mjs
// (the bundled Fashion-MNIST model, a 28x28 grey frame; MobileNetV3-Large +
// ICIIA-T, a 640x480 RGBA frame).
//
//   node tests/bench/first_result.mjs [--reps 7] [--bundles fashion,mobilenet] [--backends native,ort]
//        [--cold-only] [--chromium PATH]
//
// Each start is a new Chromium process on a new, empty profile (the harness's
// fresh temporary user-data dir, removed after): no HTTP cache, no code cache
// (V8's compiled scripts and wasm live beside the HTTP cache entries, in
// memory or in the profile), no IndexedDB, no service worker. The HTTP cache
// also stays out of every run: the server answers `no-store` and the
// harness's request audit (a playwright route on every request) turns
// Chromium's HTTP cache off; the page checks that every resource came over
// the wire (transferSize > 0). The page (browser/first_result.mjs) takes
// performance.now() marks: its module running with the test frame built (raw
// pixels, built in the page before anything of the package; no decoding),
// the package imported (with onnxruntime-web for 'ort'), the core's wasm
// ready (fetched, compiled, instantiated: in parallel with the bundle's
// download inside createRecognizer), the bundle fetched, createRecognizer
// resolved (for 'ort' this includes onnxruntime-web fetching and compiling its
// own wasm and creating its session), the first recognize() resolved (empty
// history, the image remembered). Unless --cold-only, the same page then
// navigates again ("warm": browser, processes and OS file cache warm, HTTP
// cache still off, so the files come again over loopback; a fresh client id,
// so again an empty history). Bundles and backends are interleaved: each
// repetition starts every pair once, the order rotated.
//
// Fails (exit 1) when a start fails, a request leaves the allow-list, a
// cold start took something from a cache, or an answer is wrong: the first
// answer must equal, within 1e-5 on every class's score (adapted and
// baseline) and on the top-1 class, what a warmed recognizer of the same page
// gives on the same frame, and every start of a bundle and backend must give
// the same first answer.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { addPackageRoutes, addTree, ROOT, urlPath } from '../../scripts/server.mjs';
import { browserMissing, openBrowser } from '../browser/harness.mjs';
import { addOrtRoutes } from './browser/run.mjs';
import { median } from './browser/measure.mjs';
import { benchBundles, BUNDLE_KEYS } from './bundles.mjs';

const USAGE =
  'usage: node tests/bench/first_result.mjs [--reps 7] [--bundles fashion,mobilenet] [--backends native,ort] [--cold-only] [--threads 1] [--chromium PATH]';
const BACKENDS = ['native', 'ort'];
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '7' },
    bundles: { type: 'string', default: 'fashion,mobilenet' },
    backends: { type: 'string', default: 'native,ort' },
    'cold-only': { type: 'boolean', default: false },
    chromium: { type: 'string' },
    threads: { type: 'string', default: '1' },
  },
});
const reps = Number(values.reps);
// Our backbone's threads (1: the single-threaded core; more: the threads
// build, whose workers start with the core).
const threads = Number(values.threads);
const wanted = values.bundles.split(',');
const backends = values.backends.split(',');
if (!Number.isSafeInteger(reps) || reps < 1 || !Number.isSafeInteger(threads) || threads < 1 || threads > 16 || wanted.some((b) => !BUNDLE_KEYS.includes(b)) || backends.some((b) => !BACKENDS.includes(b))) {
  console.error(USAGE);
  process.exit(2);
}
const kinds = values['cold-only'] ? ['cold'] : ['cold', 'warm'];
const TOLERANCE = 1e-5;
const PAGE = '/tests/bench/browser/first_result.html';
const MARKS = ['script', 'frame', 'imported', 'core', 'fetched', 'model', 'first'];
const TIMEOUT_MS = 300_000; // a MobileNet start under heavy load

const missing = await browserMissing(values.chromium ?? null, 'chromium');
if (missing) {
  console.error(`first_result: cannot run: ${missing}`);
  process.exit(1);
}

const { bundles, skipped } = benchBundles(wanted, { capacity: 64 });
for (const reason of skipped) console.log(reason);

const routes = new Map();
for (const f of ['tests/bench/browser/first_result.html', 'tests/bench/browser/first_result.mjs', 'tests/bench/browser/ort_web.mjs'])
  routes.set(urlPath(join(ROOT, f)), { file: join(ROOT, f) });
addPackageRoutes(routes);
const ortVersion = addOrtRoutes(routes);
for (const b of bundles) addTree(routes, b.dir);

class StartError extends Error {}

/** A fresh browser on a fresh profile: the cold navigation, then (unless --cold-only) the warm one; returns the page's results. */
async function oneStart(bundle, backend, withVersions) {
  const what = `${bundle.key}/${backend}`;
  const browser = await openBrowser({ engine: 'chromium', routes, csp: null, executablePath: values.chromium ?? null });
  try {
    const page = await browser.newPage();
    await page.addInitScript((cfg) => {
      window.iciiaFirstResultConfig = cfg;
    }, { backend, model: `${urlPath(bundle.dir)}/`, image: bundle.image, classes: bundle.classes, threads });
    const runs = {};
    for (const kind of kinds) {
      await page.goto(browser.origin + PAGE, { waitUntil: 'load', timeout: TIMEOUT_MS });
      await page.waitForFunction(() => window.iciiaFirstResult, null, { timeout: TIMEOUT_MS });
      const r = await page.evaluate(() => window.iciiaFirstResult);
      if (r.error) throw new StartError(`${what}, ${kind} start failed in the page:\n${r.error}`);
      runs[kind] = r;
    }
    const versions = withVersions ? await browser.versions() : null;
    if (browser.violations().length) throw new StartError(`${what}: requests off the allow-list: ${browser.violations().join(', ')}`);
    if (browser.errors.length) throw new StartError(`${what}: errors in the page:\n${browser.errors.join('\n')}`);
    return { runs, versions, requests: browser.requests.length };
  } finally {
    await browser.close();
  }
}

const scoreDiff = (a, b) => Math.max(...a.top.map((v, i) => Math.abs(v - b.top[i])), ...a.baseline.map((v, i) => Math.abs(v - b.baseline[i])));

/** Throws unless the page's answer is right: its backend, its own warm check, the same answer as the first start's. */
function checkAnswer(what, backend, r, reference) {
  if (r.backend !== backend) throw new StartError(`${what}: the recognizer ran backend '${r.backend}', not '${backend}'`);
  const absent = MARKS.filter((m) => !Number.isFinite(r.marks[m]));
  if (absent.length) throw new StartError(`${what}: the page took no mark ${absent.join(', ')}`);
  const { first, check } = r;
  if (!(check.maxAbsDiff <= TOLERANCE) || check.top1 !== first.top1 || check.baselineTop1 !== first.baselineTop1)
    throw new StartError(`${what}: the first answer (top-1 ${first.top1}, baseline top-1 ${first.baselineTop1}) differs from a warm ` +
      `recognizer's on the same frame (top-1 ${check.top1}, baseline top-1 ${check.baselineTop1}; max |score difference| ${check.maxAbsDiff})`);
  if (reference) {
    const d = scoreDiff(first, reference);
    if (!(d <= TOLERANCE) || first.top1 !== reference.top1)
      throw new StartError(`${what}: the first answer differs from the first start's (top-1 ${first.top1} against ${reference.top1}; max |score difference| ${d})`);
  }
}

/** Throws when a cold start got a resource from a cache; returns how many resources came from one (transferSize 0). */
function cacheHits(what, kind, r) {
  const hits = r.resources.filter((e) => e.transferSize === 0 && e.decodedBodySize > 0);
  if (kind === 'cold' && hits.length) throw new StartError(`${what}: the cold start took from a cache: ${hits.map((e) => e.name).join(', ')}`);
  return hits.length;
}

const loadBefore = loadavg();
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; onnxruntime-web ${ortVersion} (wasm, 1 thread, SIMD)`);
console.log(`${new Date().toISOString()}: load average before: ${loadBefore.map((x) => x.toFixed(2)).join(', ')}`);
for (const b of bundles) console.log(`${b.label}: test frame ${b.image.width}x${b.image.height}x${b.image.channels} (raw pixels)`);

// results[bundle][backend][kind] = page results, one per repetition.
const results = Object.fromEntries(bundles.map((b) => [b.key, Object.fromEntries(backends.map((be) => [be, Object.fromEntries(kinds.map((k) => [k, []]))]))]));
const pairs = bundles.flatMap((bundle) => backends.map((backend) => ({ bundle, backend })));
let header = null;
let hitsWarm = 0, resourcesWarm = 0;
try {
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < pairs.length; i++) {
      const { bundle, backend } = pairs[(i + rep) % pairs.length];
      const what = `${bundle.key}/${backend}, repetition ${rep + 1}`;
      const s = await oneStart(bundle, backend, header === null);
      if (header === null) {
        const r = s.runs.cold;
        header = s.versions;
        console.log(`chromium ${header.engineVersion} (${header.versionLine ?? header.executablePath}), ${header.driver}; ` +
          `${r.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated'}; ${s.requests} requests in the first start, all on the allow-list`);
      }
      for (const kind of kinds) {
        const r = s.runs[kind];
        const list = results[bundle.key][backend][kind];
        checkAnswer(`${what}, ${kind}`, backend, r, results[bundle.key][backend].cold[0]?.first ?? null);
        const hits = cacheHits(`${what}, ${kind}`, kind, r);
        if (kind === 'warm') {
          hitsWarm += hits;
          resourcesWarm += r.resources.length;
        }
        list.push(r);
      }
      const c = s.runs.cold.marks;
      console.log(`  ${what}: cold ${c.first.toFixed(0)} ms${s.runs.warm ? `, warm ${s.runs.warm.marks.first.toFixed(0)} ms` : ''}`);
    }
  }
} catch (e) {
  console.error(`first_result: ${e instanceof StartError ? e.message : e?.stack ?? e}`);
  process.exit(1);
}
const loadAfter = loadavg();
console.log(`${new Date().toISOString()}: load average after: ${loadAfter.map((x) => x.toFixed(2)).join(', ')}`);
if (kinds.includes('warm')) console.log(`warm starts: ${hitsWarm} of ${resourcesWarm} resources from a cache (transferSize 0)`);

// The first answers of the two backends side by side (not asserted: two engines' float orders differ).
for (const b of bundles) {
  if (backends.length < 2) break;
  const [n, o] = backends.map((be) => results[b.key][be].cold[0].first);
  console.log(`${b.label}: first answer, native against ort: top-1 ${n.top1} / ${o.top1}, max |score difference| ${scoreDiff(n, o).toExponential(2)}`);
}

// Stage times from the marks; the parallel ones (core, bundle fetched) are counted from the import.
const STAGES = [
  ['page', (m) => m.script],
  ['test frame', (m) => m.frame - m.script],
  ['import', (m) => m.imported - m.frame],
  ['core ready (from import)', (m) => m.core - m.imported],
  ['bundle fetched (from import)', (m) => m.fetched - m.imported],
  ['createRecognizer (from import)', (m) => m.model - m.imported],
  ['first recognize()', (m) => m.first - m.model],
];
const totalMs = (rs) => median(rs.map((r) => r.marks.first));
console.log(`\n${reps} starts per row; medians in ms from the navigation's start; the stages' medians do not add up to the total's`);
console.log(`| bundle | backend | start | ${STAGES.map(([s]) => s).join(' | ')} | total ms | total ours / ort |`);
console.log(`|---|---|---|${STAGES.map(() => '---:').join('|')}|---:|---:|`);
for (const kind of kinds) {
  for (const b of bundles) {
    for (const backend of backends) {
      const rs = results[b.key][backend][kind];
      const ratio = backends.includes('native') && backends.includes('ort')
        ? `${(totalMs(results[b.key].native[kind]) / totalMs(results[b.key].ort[kind])).toFixed(2)}x` : '';
      console.log(`| ${b.label} | ${backend} | ${kind === 'cold' ? 'cold (new profile)' : 'warm (2nd navigation)'} | ` +
        `${STAGES.map(([, f]) => median(rs.map((r) => f(r.marks))).toFixed(0)).join(' | ')} | ${totalMs(rs).toFixed(0)} | ${backend === 'native' ? ratio : ''} |`);
    }
  }
}
