// "Your own model" (README) end to end: a classifier in torchvision's layout
// that carries no bundle metadata (built by iciia_make_test_models, or a real
// torchvision export from ../shared/models when present), an image folder
// this test writes, and the native tool's commands as the README gives them:
//   iciia bundle (no ICIIA weights: prior correction, source prior from the data)
//   iciia extract --data images:DIR, iciia train (a few steps),
//   iciia bundle --iciia
// then both bundles in the built package (web/dist) under Node, recognising
// images with adaptation 'prior' and 'iciia'.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { encodePng } from '../browser/png.mjs';
import { installFakeIndexedDb, randomVector, repoRoot, sharedDir } from './helpers.mjs';

await installFakeIndexedDb();
const { createRecognizer, Backbone, InvalidArgumentError } = await import('../../web/dist/index.js');

const iciia = join(repoRoot, 'build', 'native', 'iciia');
const generator = join(repoRoot, 'build', 'native', 'iciia_make_test_models');
const missing = [iciia, generator].filter((p) => !existsSync(p));
const skip = missing.length ? `${missing.join(', ')} not built (scripts/build.sh)` : false;
if (skip) console.log(`# SKIP own-model tests: ${skip}`);

const work = mkdtempSync(join(tmpdir(), 'iciia-own-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs the native tool; returns its stdout, or throws with its stderr. */
function tool(args) {
  const r = spawnSync(iciia, args, { encoding: 'utf8' });
  if (r.status !== 0) throw Object.assign(new Error(`iciia ${args.join(' ')} exited ${r.status}:\n${r.stderr}`), { status: r.status, stderr: r.stderr });
  return r.stdout;
}

// Three classes a colour each, with noise; 12, 8 and 4 images (so the class
// frequencies, the source prior, are 1/2, 1/3, 1/6), 40x30 (the model takes
// 32x32: preprocessing resizes).
const CLASSES = { blue: [40, 60, 200], green: [50, 180, 60], red: [200, 50, 40] };
const COUNTS = { blue: 12, green: 8, red: 4 };
function image(rgb, seed, width = 40, height = 30) {
  const noise = randomVector(width * height * 3, seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(rgb[i % 3] + 30 * noise[i])));
  return { data, width, height, channels: 3 };
}
function writeImages(dir) {
  const images = [];
  for (const [name, rgb] of Object.entries(CLASSES)) {
    mkdirSync(join(dir, name), { recursive: true });
    for (let k = 0; k < COUNTS[name]; k++) {
      const img = image(rgb, images.length + 1);
      writeFileSync(join(dir, name, `${k}.png`), encodePng({ ...img, pixels: Buffer.from(img.data) }));
      images.push({ label: name, img });
    }
  }
  return images;
}

/** A safetensors file without its __metadata__ (the same tensors and bytes). */
function withoutMetadata(bytes) {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  assert.ok(header.__metadata__, 'the trained weights carry metadata');
  delete header.__metadata__;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, Buffer.from(json, 'utf8'), bytes.subarray(8 + n)]);
}

// shiftLevel 0: every image is answered by the mode under test (the shift
// gate has its own tests in recognizer.test.mjs).
async function recognizeAll(bundle, adaptation, images, labels) {
  const rec = await createRecognizer({ model: bundle, clientId: `own-${adaptation}-${bundle}`, adaptation, shiftLevel: 0, onWarning: () => {} });
  try {
    assert.equal(rec.adaptation, adaptation);
    for (const { img } of images) {
      const r = await rec.recognize(img, { topK: labels.length });
      assert.equal(r.adaptation, adaptation);
      assert.equal(r.top.length, labels.length);
      for (const p of [...r.top, ...r.baseline]) {
        assert.ok(Number.isInteger(p.index) && p.index >= 0 && p.index < labels.length, `index ${p.index}`);
        assert.equal(p.label, labels[p.index]);
        assert.ok(p.score >= 0 && p.score <= 1);
      }
      const sum = r.top.reduce((a, p) => a + p.score, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `the adapted scores of all classes sum to 1 (${sum})`);
      if (adaptation === 'prior') assert.equal(r.classPrior.length, labels.length);
      else assert.equal(r.attention.length, r.historySize - 1);
    }
    return rec.adaptations;
  } finally {
    rec.dispose();
  }
}

describe('your own model, end to end', { skip }, () => {
  const dir = join(work, 'model');
  const imagesDir = join(work, 'images');
  let model, images, labels;

  test('iciia bundle without ICIIA weights finds the features and adapts by prior correction', async () => {
    execFileSync(generator, ['--torchvision-like', dir], { stdio: 'pipe' });
    model = JSON.parse(readFileSync(join(dir, 'tiny_resnet.json'), 'utf8'));
    images = writeImages(imagesDir);
    const out = tool(['bundle', '--backbone', join(dir, model.file), '--preprocess', 'imagenet', '--data', `images:${imagesDir}`,
      '--samples', '3', '--name', 'tiny resnet', '--out', join(work, 'prior')]);
    assert.match(out, /default adaptation: prior \(no ICIIA weights/);

    const m = JSON.parse(readFileSync(join(work, 'prior', 'manifest.json'), 'utf8'));
    assert.equal(m.iciia, undefined);
    assert.equal(existsSync(join(work, 'prior', 'iciia.safetensors')), false);
    assert.equal(m.adaptation.default, 'prior');
    // The input and output of the final Gemm, as the generator built them.
    assert.equal(m.backbone.features, model.features);
    assert.equal(m.backbone.logits, model.logits);
    assert.equal(m.backbone.input, 'input');
    assert.deepEqual(m.backbone.preprocess, { size: [32, 32], channels: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], scale: 0.003921569 });
    labels = Object.keys(CLASSES).sort();  // the folders, as torchvision's ImageFolder numbers them
    assert.deepEqual(m.labels, labels);
    const total = images.length;
    m.adaptation.source_prior.forEach((p, c) => assert.ok(Math.abs(p - COUNTS[labels[c]] / total) < 1e-9, `source prior ${c}: ${p}`));

    const adaptations = await recognizeAll(join(work, 'prior'), 'prior', images, labels);
    assert.deepEqual([...adaptations].sort(), ['none', 'prior']);
    await assert.rejects(createRecognizer({ model: join(work, 'prior'), clientId: 'own-x', adaptation: 'iciia', onWarning: () => {} }),
      InvalidArgumentError);
  });

  test('iciia extract --data images:DIR, iciia train, iciia bundle --iciia: the bundle adapts with ICIIA', async (t) => {
    assert.ok(labels, 'the prior-only bundle was written');
    const features = join(work, 'features.safetensors');
    const out = tool(['extract', '--bundle', join(work, 'prior', 'manifest.json'), '--data', `images:${imagesDir}`, '--out', features]);
    assert.match(out, new RegExp(`24 images, features '${model.features}' ${model.dim} wide`));
    const weights = join(work, 'iciia.safetensors');
    try {
      tool(['train', '--features', features, '--out', weights, '--steps', '8', '--batch', '4', '--seq-len', '4', '--layers', '1', '--heads', '2']);
    } catch (e) {
      if (e.status === 2 && /no training support/.test(e.stderr)) return t.skip('build/native/iciia has no training support (libtorch-dev absent)');
      throw e;
    }
    tool(['bundle', '--backbone', join(dir, model.file), '--iciia', weights, '--preprocess', 'imagenet', '--data', `images:${imagesDir}`,
      '--out', join(work, 'iciia')]);
    const m = JSON.parse(readFileSync(join(work, 'iciia', 'manifest.json'), 'utf8'));
    assert.equal(m.adaptation.default, 'iciia');
    assert.equal(m.iciia.file, 'iciia.safetensors');
    assert.deepEqual(m.labels, labels);

    const adaptations = await recognizeAll(join(work, 'iciia'), 'iciia', images, labels);
    assert.deepEqual([...adaptations].sort(), ['iciia', 'none', 'prior']);
    await recognizeAll(join(work, 'iciia'), 'prior', images, labels);

    // The same weights as the paper's code saves them (no __metadata__):
    // the bundle's copy gets it from the shapes and --iciia-heads, and
    // answers as the original does.
    const bare = join(work, 'bare.safetensors');
    writeFileSync(bare, withoutMetadata(readFileSync(weights)));
    tool(['bundle', '--backbone', join(dir, model.file), '--iciia', bare, '--iciia-heads', '2', '--preprocess', 'imagenet',
      '--labels', join(work, 'iciia', 'labels.txt'), '--out', join(work, 'bare')]);
    const scores = async (bundle) => {
      const rec = await createRecognizer({ model: bundle, clientId: `own-scores-${bundle}`, shiftLevel: 0, onWarning: () => {} });
      try {
        const out = [];
        for (const { img } of images.slice(0, 5)) out.push((await rec.recognize(img, { topK: labels.length })).top);
        return out;
      } finally {
        rec.dispose();
      }
    };
    assert.deepEqual(await scores(join(work, 'bare')), await scores(join(work, 'iciia')));
  });

  test('a real torchvision export (../shared/models): features are the input of the final Gemm', async (t) => {
    const file = sharedDir() && join(sharedDir(), 'models', 'mobilenet_v3_small.onnx');
    if (!file || !existsSync(file)) return t.skip('../shared/models/mobilenet_v3_small.onnx absent (the shared benchmark backbones)');
    const labelsFile = join(work, 'imagenet_labels.txt');
    writeFileSync(labelsFile, Array.from({ length: 1000 }, (_, i) => `class ${i}`).join('\n'));
    tool(['bundle', '--backbone', file, '--preprocess', 'imagenet', '--labels', labelsFile, '--out', join(work, 'mobilenet')]);
    const m = JSON.parse(readFileSync(join(work, 'mobilenet', 'manifest.json'), 'utf8'));
    assert.equal(m.adaptation.default, 'prior');
    assert.equal(m.adaptation.source_prior, undefined, 'no data, no measured prior');
    // MobileNetV3-Small's classifier: Linear(576, 1024), Hardswish, Dropout, Linear(1024, 1000).
    const backbone = await Backbone.load(readFileSync(join(work, 'mobilenet', 'backbone.onnx')), { tensors: [m.backbone.features] });
    try {
      const logits = backbone.run(new Float32Array(3 * 224 * 224).fill(0.5));
      assert.equal(logits.length, 1000);
      assert.equal(backbone.read(m.backbone.features).length, 1024);
    } finally {
      backbone.dispose();
    }
    const mobileLabels = m.labels;
    await recognizeAll(join(work, 'mobilenet'), 'prior', images.slice(0, 3), mobileLabels);
  });
});
