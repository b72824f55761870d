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
// Bundles: the bundled models/fashion-mnist/ (28x28 grey input images), and
// MobileNetV3-Large from ../shared/models (or $ICIIA_SHARED_DIR/models; 640x480 RGBA input images, resized
// by the core to 224x224) with an ICIIA-T module of random weights of the
// right shapes (d 1280, g 256, h 4, L 1, 1000 classes), written on the fly
// under build/bench_models/. Every bundle is written there with its feature
// tensor a graph output, which backend 'ort' needs (onnxruntime-web returns
// graph outputs only). MobileNet is skipped, with a message, when ../shared
// is absent.
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { addTree, ROOT, urlPath } from '../../scripts/server.mjs';
import { browserMissing, ENGINES, openBrowser } from '../browser/harness.mjs';
import { addGraphOutputs, inspectOnnxGraph } from '../ort/ort_run.mjs';
import { randomVector } from '../common/random.mjs';
import { serializeSafetensors } from '../ort/safetensors.mjs';
import { addPageRoutes, PAGE } from './browser/run.mjs';
import { median } from './browser/measure.mjs';

const USAGE =
  'usage: node tests/bench/recognize.mjs [--warmup 5] [--reps 30] [--history 64] [--gaps 100,1000] [--durability strict,relaxed] [--bundles fashion,mobilenet] [--engine chromium,firefox,webkit] [--chromium PATH]';
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
  },
});
const [warmup, reps, capacity] = [values.warmup, values.reps, values.history].map(Number);
const engines = values.engine.split(',');
const gaps = values.gaps ? values.gaps.split(',').map(Number) : [];
const durabilities = values.durability.split(',');
const wanted = values.bundles.split(',');
if (durabilities.some((d) => d !== 'strict' && d !== 'relaxed') || wanted.some((b) => b !== 'fashion' && b !== 'mobilenet')) {
  console.error(USAGE);
  process.exit(2);
}
if (![warmup, reps, capacity, ...gaps].every(Number.isSafeInteger) || engines.some((e) => !ENGINES.includes(e)) || warmup < 0 || reps < 1 || capacity < 1 || gaps.some((g) => g < 1)) {
  console.error(USAGE);
  process.exit(2);
}

const OUT = join(ROOT, 'build/bench_models');
// ../shared beside the repository, or ICIIA_SHARED_DIR (as the tests take it).
const SHARED_MOBILENET = join(process.env.ICIIA_SHARED_DIR ?? join(ROOT, '../shared'), 'models/mobilenet_v3_large.onnx');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * ICIIA-T weights (docs/design.md names, g > 1) of random values at the scale of
 * a trained module: what matters here is the shapes, hence the cost.
 */
function randomIciia({ dim, classes, partitions, heads, layers }) {
  const g = partitions, m = Math.ceil(dim / g);
  const tensors = {};
  let seed = 1;
  const t = (name, shape, a, fill) => {
    const n = shape.reduce((x, y) => x * y, 1);
    tensors[name] = { shape, data: fill === undefined ? randomVector(n, seed++).map((v) => v * a) : new Float32Array(n).fill(fill) };
  };
  for (let l = 0; l < layers; l++) {
    const p = `encoder.layers.${l}.`;
    t(`${p}self_attn.in_proj_weight`, [g, 3 * m, m], 1 / Math.sqrt(m));
    t(`${p}self_attn.in_proj_bias`, [3 * g * m], 0, 0);
    t(`${p}self_attn.out_proj_weight`, [g, m, m], 1 / Math.sqrt(m));
    t(`${p}self_attn.out_proj_bias`, [g * m], 0, 0);
    for (const lin of ['linear1', 'linear2']) {
      t(`${p}${lin}.weight`, [g, m, m], 1 / Math.sqrt(m));
      t(`${p}${lin}.bias`, [g * m], 1 / Math.sqrt(m));
    }
    for (const norm of ['norm1', 'norm2']) {
      t(`${p}${norm}.weight`, [g * m], 0, 1);
      t(`${p}${norm}.bias`, [g * m], 0, 0);
    }
  }
  t('classifier.weight', [classes, g * m], 1 / Math.sqrt(g * m));
  t('classifier.bias', [classes], 0, 0);
  const metadata = {
    format: 'iciia/1', dim: String(dim), num_classes: String(classes), num_heads: String(heads), num_layers: String(layers),
    num_partitions: String(g), shuffle: '1', attention: 'full',
  };
  return serializeSafetensors(tensors, metadata);
}

/** Writes a bundle under build/bench_models/NAME/ with `features` exposed as a graph output; returns its folder. */
function writeBundle(name, { onnx, iciia, manifest }) {
  const dir = join(OUT, name);
  mkdirSync(dir, { recursive: true });
  const { outputs } = inspectOnnxGraph(onnx);
  const backbone = outputs.includes(manifest.backbone.features) ? onnx : addGraphOutputs(onnx, [manifest.backbone.features]);
  writeFileSync(join(dir, 'backbone.onnx'), backbone);
  writeFileSync(join(dir, 'iciia.safetensors'), iciia);
  const m = {
    ...manifest,
    name: `${manifest.name} (benchmark copy)`,
    backbone: { ...manifest.backbone, file: 'backbone.onnx', sha256: sha256(backbone) },
    iciia: { file: 'iciia.safetensors', sha256: sha256(iciia) },
    history: { capacity },
  };
  delete m.samples;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 1));
  return dir;
}

function fashionBundle() {
  const dir = join(ROOT, 'models/fashion-mnist');
  if (!existsSync(join(dir, 'manifest.json'))) throw new Error('models/fashion-mnist/ holds no bundle (manifest.json)');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const [h, w] = manifest.backbone.preprocess.size;
  return {
    label: 'Fashion-MNIST (bundled)',
    dir: writeBundle('fashion-mnist', {
      onnx: new Uint8Array(readFileSync(join(dir, manifest.backbone.file))),
      iciia: new Uint8Array(readFileSync(join(dir, manifest.iciia.file))),
      manifest,
    }),
    image: { width: w, height: h, channels: manifest.backbone.preprocess.channels },
  };
}

function mobilenetBundle() {
  const onnx = new Uint8Array(readFileSync(SHARED_MOBILENET));
  // The features are what the final classifier consumes: the input of the
  // Gemm that writes the graph's logits output.
  const { nodes, outputs } = inspectOnnxGraph(onnx);
  const last = nodes.find((n) => n.opType === 'Gemm' && n.outputs.includes(outputs[0]));
  if (!last) throw new Error(`${SHARED_MOBILENET}: no Gemm writes the output ${outputs[0]}`);
  const dim = 1280, classes = 1000;
  return {
    label: 'MobileNetV3-Large + ICIIA-T (random weights)',
    features: last.inputs[0],
    dir: writeBundle('mobilenet_v3_large', {
      onnx,
      iciia: randomIciia({ dim, classes, partitions: 256, heads: 4, layers: 1 }),
      manifest: {
        format: 'iciia-bundle/1',
        name: 'mobilenet_v3_large',
        backbone: {
          input: 'input', features: last.inputs[0], logits: outputs[0],
          preprocess: { size: [224, 224], channels: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], scale: 1 / 255 },
        },
        labels: Array.from({ length: classes }, (_, i) => `class ${i}`),
      },
    }),
    image: { width: 640, height: 480, channels: 4 },
  };
}

const bundles = wanted.includes('fashion') ? [fashionBundle()] : [];
if (!wanted.includes('mobilenet')) {
  // not asked for
} else if (existsSync(SHARED_MOBILENET)) bundles.push(mobilenetBundle());
else console.log(`MobileNetV3-Large skipped: ${SHARED_MOBILENET} is absent (../shared holds the benchmark backbones)\n`);

const routes = new Map();
const ortVersion = addPageRoutes(routes);
for (const b of bundles) addTree(routes, b.dir);

const STAGES = ['preprocess', 'backbone', 'sync', 'adapt'];
const CONFIGS = [
  ...durabilities.map((durability) => ({ backend: 'native', adaptation: 'iciia', durability })),
  { backend: 'native', adaptation: 'prior' },
  ...gaps.map((gapMs) => ({ backend: 'native', adaptation: 'iciia', gapMs })),
  { backend: 'ort', adaptation: 'iciia' },
];

/** Every configuration of every bundle in one engine: rows[bundle][config] = { total, stage, other, commit }. */
async function runEngine(engine) {
  const browser = await openBrowser({ engine, routes, csp: null, executablePath: engine === 'chromium' ? values.chromium : null });
  try {
    const v = await browser.versions();
    const page = await browser.newPage();
    await page.goto(`${browser.origin}${PAGE}`);
    await page.waitForFunction(() => window.iciiaBench || window.iciiaBenchError, null, { timeout: 120_000 });
    const pageError = await page.evaluate(() => window.iciiaBenchError ?? null);
    if (pageError) throw new Error(`${engine}: the page failed to load its modules:\n${pageError}`);
    const env = await page.evaluate(() => window.iciiaBench.env());
    console.log(`${engine} ${v.engineVersion} (${v.versionLine ?? v.executablePath}), ${v.driver}; ` +
      `${env.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated'}`);
    const rows = [];
    for (const b of bundles) {
      const perConfig = [];
      for (const c of CONFIGS) {
        const r = await page.evaluate((o) => window.iciiaBench.recognize(o), {
          model: `${urlPath(b.dir)}/`, ...c, capacity, warmup, reps, image: b.image,
        });
        if (r.rows.some((x) => x.history !== capacity || x.adaptation !== c.adaptation))
          throw new Error(`${engine}, ${b.label}: a timed call did not run ${c.adaptation} over a history of ${capacity}`);
        perConfig.push({
          backend: r.backend,
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
      const { backend, total, stage, other, commit } = rows[bi][ci];
      const nativeMs = rows[bi][0].total;
      const cell = (ms) => `${ms.toFixed(2)} (${Math.round((100 * ms) / total)}%)`;
      const { width, height, channels } = b.image;
      console.log(`| ${b.label} | ${width}x${height}x${channels} | ${backend} | ${c.adaptation}${c.gapMs ? `, paced ${c.gapMs} ms` : ''}${durabilities.length > 1 ? `, durability ${c.durability ?? 'strict'}` : ''} | ${engine} | ` +
        `${total.toFixed(2)} | ${STAGES.map((st) => cell(stage[st])).join(' | ')} | ${cell(other)} | ` +
        `${(100 * stage.adapt / stage.backbone).toFixed(1)}% | ${commit.toFixed(2)} | ${(total / nativeMs).toFixed(2)}x |`);
    }
  });
});
