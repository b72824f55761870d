// The threads build against the single-threaded one, as the package loads
// them in Node: the same answers bit for bit (backbone outputs, a remembered
// stream's scores and attention), the thread count reported, typed errors
// from the threads build, and bad counts refused.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { decodePng } from '../../examples/node/png.mjs';
import { Backbone, createRecognizer, ModelFormatError } from '../../web/dist/index.js';
import { installFakeIndexedDb, randomVector, repoRoot } from './helpers.mjs';

await installFakeIndexedDb();

const bundleDir = join(repoRoot, 'models/fashion-mnist');
const backboneBytes = new Uint8Array(readFileSync(join(bundleDir, 'backbone.onnx')));

test('Backbone on 1, 2 and 3 threads: the same output bits, and info.threads says which ran', async () => {
  const x = randomVector(28 * 28, 3);
  const outputs = [];
  for (const threads of [1, 2, 3]) {
    const b = await Backbone.load(backboneBytes, { threads });
    try {
      assert.equal(b.info.threads, threads);
      outputs.push(b.run(x).slice());
      assert.deepEqual(b.run(x), outputs.at(-1), 'a second run gives the same bits');
    } finally {
      b.dispose();
    }
  }
  assert.deepEqual(outputs[1], outputs[0]);
  assert.deepEqual(outputs[2], outputs[0]);
});

test('the default in Node: the threads build on the available cores, at most 4', async () => {
  const b = await Backbone.load(backboneBytes);
  try {
    assert.equal(b.info.threads, Math.min(availableParallelism(), 4));
  } finally {
    b.dispose();
  }
});

test('a remembered stream answers the same on one thread and on two', async () => {
  const samples = JSON.parse(readFileSync(join(bundleDir, 'samples/index.json'), 'utf8'));
  const images = samples.slice(0, 12).map((s) => decodePng(readFileSync(join(bundleDir, 'samples', s.file))));
  const runs = [];
  for (const threads of [1, 2]) {
    const rec = await createRecognizer({ model: bundleDir, clientId: `threads-${threads}`, threads, onWarning: () => {} });
    try {
      assert.equal(rec.threads, threads);
      await rec.history.clear();
      const answers = [];
      for (const image of images) {
        const r = await rec.recognize(image);
        await r.stored;
        answers.push({ top: r.top, baseline: r.baseline, attention: r.attention });
      }
      runs.push(answers);
    } finally {
      rec.dispose();
    }
  }
  assert.deepEqual(runs[1], runs[0]);
});

test('the threads build throws the typed errors of the single-threaded one', async () => {
  for (const threads of [1, 2]) {
    await assert.rejects(Backbone.load(new Uint8Array([1, 2, 3, 4]), { threads }), (e) => {
      assert.ok(e instanceof ModelFormatError, `${threads} thread(s): ${e.name}: ${e.message}`);
      return true;
    });
  }
});

test('a thread count that is not an integer from 1 to 16 is a TypeError naming the option', async () => {
  for (const threads of [0, 17, 2.5, '2', null]) {
    await assert.rejects(Backbone.load(backboneBytes, { threads }), (e) => e instanceof TypeError && /threads/.test(e.message),
      String(threads));
  }
});
