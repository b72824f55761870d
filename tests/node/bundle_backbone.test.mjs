// The bundled Fashion-MNIST backbone (models/fashion-mnist) in the wasm engine
// and in onnxruntime-web, on Fashion-MNIST test images preprocessed as its
// manifest says: `features` and `logits` must agree within 1e-4 * max(1, |ref|).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { loadCore } from '../../web/dist/index.js';
import { maxAbsDiff, read, repoRoot } from './helpers.mjs';

const bundleDir = join(repoRoot, 'models', 'fashion-mnist');
const testImages = '/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz';  // Debian's dataset-fashion-mnist
const ortInstalled = existsSync(join(repoRoot, 'tests', 'ort', 'node_modules', 'onnxruntime-web'));
const bound = (ref) => 1e-4 * Math.max(1, ...Array.from(ref, Math.abs));

test('bundled backbone: wasm engine and onnxruntime-web agree on test images', async (t) => {
  if (!ortInstalled) return t.skip('tests/ort/node_modules absent: run `npm ci` in tests/ort');
  if (!existsSync(testImages)) return t.skip(`${testImages} absent: install dataset-fashion-mnist`);
  const manifest = JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8'));
  const { input, features, logits, preprocess } = manifest.backbone;
  const bytes = read(join(bundleDir, manifest.backbone.file));
  assert.equal(createHash('sha256').update(bytes).digest('hex'), manifest.backbone.sha256, 'manifest sha256');
  const [h, w] = preprocess.size;
  assert.equal(preprocess.channels, 1);

  // idx: 16-byte header (magic, count, rows, cols), then 28x28 bytes per image.
  const idx = gunzipSync(readFileSync(testImages));
  assert.equal(idx.readUInt32BE(8), h);
  assert.equal(idx.readUInt32BE(12), w);

  const { createOrtSession, runOrt } = await import('../ort/ort_run.mjs');
  const core = await loadCore();
  const engine = core.Backbone.fromBytes(bytes, {});
  const session = await createOrtSession(bytes);
  try {
    for (const i of [0, 1, 2, 3, 4, 1234, 9999]) {
      // Same size as the model input: preprocessing is (pixel * scale - mean) / std.
      const x = new Float32Array(h * w);
      for (let p = 0; p < h * w; p++) x[p] = (idx[16 + i * h * w + p] * preprocess.scale - preprocess.mean[0]) / preprocess.std[0];
      engine.run(x);
      const ref = await runOrt(session, { [input]: { dims: [1, 1, h, w], data: x } }, [features, logits]);
      for (const name of [features, logits]) {
        const ours = engine.read(name);
        const diff = maxAbsDiff(ours, ref[name].data);
        t.diagnostic(`image ${i} ${name}: max |diff| ${diff}`);
        assert.ok(diff <= bound(ref[name].data), `image ${i} ${name}: max |diff| ${diff}`);
      }
    }
  } finally {
    engine.delete();
    await session.release?.();
  }
});
