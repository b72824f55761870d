#!/usr/bin/env node
// End-to-end recognize() latency in each browser engine (Chromium, Firefox and
// WebKit by default, one row each; --engine picks some), on a full history: the time until the answer
// (preprocess, backbone, sync, adapt: the package's own r.timings, the rest
// "other"), and separately the commit that follows it (until r.stored
// resolves). For backend 'native' (our engine) and backend 'ort'
// (onnxruntime-web runs the backbone) side by side, for the adaptations
// 'iciia' and 'prior' (EM prior correction, whose cost per query is set
// against the backbone's), and with the calls spaced out: 100 ms apart (a
// camera's pace; the recognizer keeps the client's lock) and 1 s apart (it
// has let the lock go and syncs again: lock and head read). Medians over
// repetitions; each stage's share of the answer's time.
//
// Commits use the package's default IndexedDB durability ('strict');
// --durability strict,relaxed adds a 'relaxed' row of the first
// configuration, to price the flush to disk (README, "Durability");
// --bundles fashion leaves MobileNet out.
//
//   node tests/bench/recognize.mjs [--warmup 5] [--reps 30] [--history 64] [--gaps 100,1000]
//        [--durability strict,relaxed] [--bundles fashion,mobilenet]
//        [--engine chromium,firefox,webkit] [--chromium PATH]
//
// Bundles (tests/bench/bundles.mjs, written under build/bench_models/): the
// bundled models/fashion-mnist/ (28x28 grey input images), and
// MobileNetV3-Large from ../shared/models (or $ICIIA_SHARED_DIR/models;
// 640x480 RGBA input images, resized by the core to 224x224) with an ICIIA-T
// module of random weights of the right shapes (d 1280, g 256, h 4, L 1, 1000
// classes). MobileNet is skipped, with a message, when ../shared is absent.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';

import { addTree, urlPath } from '../../scripts/server.mjs';
import { browserMissing, ENGINES, openBrowser } from '../browser/harness.mjs';
import { addPageRoutes, PAGE } from './browser/run.mjs';
import { median } from './browser/measure.mjs';
import { benchBundles, BUNDLE_KEYS } from './bundles.mjs';

const USAGE =
  'usage: node tests/bench/recognize.mjs [--threads 1] [--warmup 5] [--reps 30] [--history 64] [--gaps 100,1000] [--durability strict,relaxed] [--bundles fashion,mobilenet] [--engine chromium,firefox,webkit] [--chromium PATH]';
const { values } = parseArgs({
  options: {
    warmup: { type: 'string', default: '5' },
    reps: { type: 'string', default: '30' },
    history: { type: 'string', default: '64' },
    gaps: { type: 'string', default: '100,1000' },
    durability: { type: 'string', default: 'strict' },
    bundles: { type: 'string', default: 'fashion,mobilenet' },
    chromium: { type: 'string' },
    engine: { type: 'string', default: process.env.ICIIA_BROWSER ?? ENGINES.join(',') },
    threads: { type: 'string', default: '1' },
  },
});
const [warmup, reps, capacity, threads] = [values.warmup, values.reps, values.history, values.threads].map(Number);
const engines = values.engine.split(',');
const gaps = values.gaps ? values.gaps.split(',').map(Number) : [];
const durabilities = values.durability.split(',');
const wanted = values.bundles.split(',');
if (durabilities.some((d) => d !== 'strict' && d !== 'relaxed') || wanted.some((b) => !BUNDLE_KEYS.includes(b))) {
  console.error(USAGE);
  process.exit(2);
}
if (![warmup, reps, capacity, threads, ...gaps].every(Number.isSafeInteger) || threads < 1 || threads > 16 || engines.some((e) => !ENGINES.includes(e)) || warmup < 0 || reps < 1 || capacity < 1 || gaps.some((g) => g < 1)) {
  console.error(USAGE);
  process.exit(2);
}

const { bundles, skipped } = benchBundles(wanted, { capacity });
for (const reason of skipped) console.log(`${reason}\n`);

const routes = new Map();
const ortVersion = addPageRoutes(routes);
for (const b of bundles) addTree(routes, b.dir);

const STAGES = ['preprocess', 'backbone', 'sync', 'adapt'];
// shiftLevel 0: the modes answer every call, so 'adapt' times the ICIIA
// query or the EM (the benchmark's random images may or may not pass the
// shift gate). The gated row times the default: the gate's own EM, then the
// mode whenever the gate lets the call through; its label says how often.
const CONFIGS = [
  ...durabilities.map((durability) => ({ backend: 'native', adaptation: 'iciia', durability, shiftLevel: 0 })),
  { backend: 'native', adaptation: 'prior', shiftLevel: 0 },
  { backend: 'native', adaptation: 'iciia', gated: true },
  ...gaps.map((gapMs) => ({ backend: 'native', adaptation: 'iciia', gapMs, shiftLevel: 0 })),
  { backend: 'ort', adaptation: 'iciia', shiftLevel: 0 },
];

/** Every configuration of every bundle in one engine: rows[bundle][config] = { total, stage, other, commit }. */
async function runEngine(engine) {
  const browser = await openBrowser({ engine, routes, csp: null, executablePath: engine === 'chromium' ? values.chromium : null });
  try {
    const v = await browser.versions();
    const page = await browser.newPage();
    // #threads=N: our backbone (and onnxruntime-web's) on N threads.
    await page.goto(`${browser.origin}${PAGE}#threads=${threads}`);
    await page.waitForFunction(() => window.iciiaBench || window.iciiaBenchError, null, { timeout: 120_000 });
    const pageError = await page.evaluate(() => window.iciiaBenchError ?? null);
    if (pageError) throw new Error(`${engine}: the page failed to load its modules:\n${pageError}`);
    const env = await page.evaluate(() => window.iciiaBench.env());
    console.log(`${engine} ${v.engineVersion} (${v.versionLine ?? v.executablePath}), ${v.driver}; ` +
      `${env.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated'}; ${threads} thread(s) asked for`);
    const rows = [];
    for (const b of bundles) {
      const perConfig = [];
      for (const c of CONFIGS) {
        const r = await page.evaluate((o) => window.iciiaBench.recognize(o), {
          model: `${urlPath(b.dir)}/`, ...c, capacity, warmup, reps, image: b.image,
        });
        if (r.rows.some((x) => x.history !== capacity || (x.adaptation !== c.adaptation && !(c.gated && x.adaptation === 'none'))))
          throw new Error(`${engine}, ${b.label}: a timed call did not run ${c.adaptation} over a history of ${capacity}`);
        perConfig.push({
          backend: r.backend,
          adapted: r.rows.filter((x) => x.adaptation === c.adaptation).length,
          total: median(r.rows.map((x) => x.total)),
          stage: Object.fromEntries(STAGES.map((st) => [st, median(r.rows.map((x) => x[st]))])),
          other: median(r.rows.map((x) => x.total - STAGES.reduce((a, st) => a + x[st], 0))),
          commit: median(r.rows.map((x) => x.commit)),
        });
      }
      rows.push(perConfig);
    }
    if (browser.violations().length) throw new Error(`${engine}: requests off the allow-list: ${browser.violations().join(', ')}`);
    console.log(`  ${browser.requests.length} page requests, all on the allow-list, all to ${browser.origin}`);
    return rows;
  } finally {
    await browser.close();
  }
}

console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; onnxruntime-web ${ortVersion} (wasm, 1 thread, SIMD)`);
console.log(`each row: history cleared, filled with ${capacity} images, ${warmup} warm-ups, then ${reps} timed recognize() calls, ` +
  'each remembered (so each also stores its record and evicts the oldest); each call starts once the previous record is durable; ' +
  '"paced N ms": N ms between calls; medians\n');
for (const b of bundles) if (b.features) console.log(`${b.label}: features = '${b.features}' (input of the final Gemm)`);

const results = new Map();
for (const engine of engines) {
  const missing = await browserMissing(engine === 'chromium' ? values.chromium : null, engine);
  if (missing) {
    console.log(`${engine} skipped: ${missing}`);
    continue;
  }
  try {
    results.set(engine, await runEngine(engine));
  } catch (e) {
    console.error(`error: ${e?.stack ?? e}`);
    process.exitCode = 1;
  }
}

// One row per engine for each bundle and configuration, the engines side by side.
console.log('\n| bundle | input image | backend | adaptation | engine | answer ms | preprocess | backbone | sync | adapt | other | adapt / backbone | commit ms (after the answer) | answer vs native |');
console.log('|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
bundles.forEach((b, bi) => {
  CONFIGS.forEach((c, ci) => {
    for (const [engine, rows] of results) {
      const { backend, total, stage, other, commit, adapted } = rows[bi][ci];
      const nativeMs = rows[bi][0].total;
      const cell = (ms) => `${ms.toFixed(2)} (${Math.round((100 * ms) / total)}%)`;
      const { width, height, channels } = b.image;
      console.log(`| ${b.label} | ${width}x${height}x${channels} | ${backend} | ${c.adaptation}${c.gated ? `, shift gate (passed ${adapted} of ${reps})` : ''}${c.gapMs ? `, paced ${c.gapMs} ms` : ''}${durabilities.length > 1 ? `, durability ${c.durability ?? 'strict'}` : ''} | ${engine} | ` +
        `${total.toFixed(2)} | ${STAGES.map((st) => cell(stage[st])).join(' | ')} | ${cell(other)} | ` +
        `${(100 * stage.adapt / stage.backbone).toFixed(1)}% | ${commit.toFixed(2)} | ${(total / nativeMs).toFixed(2)}x |`);
    }
  });
});
