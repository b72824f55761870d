// The recognizer end to end on the wasm build in Node, with IndexedDB from
// fake-indexeddb (the same core code path as in a browser): recognition
// against its parts in every adaptation mode, backbone-only bundles,
// persistence, eviction, commits off the critical path, records and exports
// of the previous format, export/import, storage faults, two recognizers on
// one client, bad input, the 'ort' backend, and memory.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { installFakeIndexedDb, repoRoot, writeTestBundle } from './helpers.mjs';

await installFakeIndexedDb();
const pkg = await import('../../web/dist/index.js');
const {
  createRecognizer, loadCore, Backbone, IciiaModel, DisposedError, InvalidArgumentError, ModelFormatError, ModelLoadError, StorageError,
} = pkg;

const work = mkdtempSync(join(tmpdir(), 'iciia-rec-'));
after(() => rmSync(work, { recursive: true, force: true }));
const bundleDir = writeTestBundle(join(work, 'bundle'));
const otherBundleDir = bundleDir && writeTestBundle(join(work, 'bundle2'), 2);
const skip = bundleDir ? false : 'build/native/iciia_make_test_models not built (scripts/build.sh): the recognizer tests need the test bundle';
if (skip) console.log(`# SKIP recognizer tests: ${skip}`);

// The test bundle: RGB 16x16, mean 0.5, std 0.25, 5 classes, d = 16, capacity 8.
const SIZE = 16;
function image(seed, { width = SIZE, height = SIZE, channels = 3 } = {}) {
  let s = (seed * 2654435761) >>> 0 || 1;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = (s >>> 0) & 255;
  }
  return { data, width, height, channels };
}
let clients = 0;
const newClient = () => `client-${++clients}`;
// shiftLevel 0: the modes answer from the first image, which these tests
// compare against their parts (the shift gate's own test sets it).
const open = (opts) => createRecognizer({ model: bundleDir, onWarning: () => {}, shiftLevel: 0, ...opts });

describe('recognizer', { skip }, () => {
  test('answers equal the backbone and ICIIA run separately', async () => {
    const rec = await open({ clientId: newClient() });
    const backbone = await Backbone.load(readFileSync(join(bundleDir, 'backbone.onnx')), { tensors: ['features'] });
    const iciia = await IciiaModel.load(readFileSync(join(bundleDir, 'iciia.safetensors')));
    const history = [];
    try {
      for (let i = 0; i < 10; i++) {
        const img = image(i);
        // The preprocessing at identity size is the normalisation alone.
        const input = new Float32Array(3 * SIZE * SIZE);
        for (let c = 0; c < 3; c++)
          for (let p = 0; p < SIZE * SIZE; p++) input[c * SIZE * SIZE + p] = (img.data[p * 3 + c] / 255 - 0.5) / 0.25;
        const logits = backbone.run(input);
        const features = backbone.read('features');
        const r = await rec.recognize(img, { topK: 5 });

        const base = Array.from(logits).map((v, k) => [v, k]).sort((a, b) => b[0] - a[0]);
        assert.equal(r.baseline[0].index, base[0][1]);
        assert.equal(r.baseline[0].label, `class${base[0][1]}`);

        const n = Math.min(history.length, 8);
        const seq = new Float32Array((n + 1) * 16);
        history.slice(history.length - n).forEach((f, k) => seq.set(f, k * 16));
        seq.set(features, n * 16);
        const out = iciia.forward(seq, n + 1).subarray(n * 5);
        const max = Math.max(...out);
        const z = out.reduce((a, v) => a + Math.exp(v - max), 0);
        for (const p of r.top) assert.ok(Math.abs(p.score - Math.exp(out[p.index] - max) / z) < 1e-5, `image ${i} class ${p.index}`);
        assert.equal(r.attention.length, n);
        assert.equal(r.seq, i);
        assert.equal(r.historySize, Math.min(i + 1, 8));
        if (n) assert.deepEqual(r.attention.map((a) => a.seq), Array.from({ length: n }, (_, k) => i - n + k));
        const sum = r.attention.reduce((a, e) => a + e.weight, 0);
        if (n) assert.ok(sum > 0 && sum < 1, 'attention over the history excludes the target itself');
        assert.equal(r.adaptation, 'iciia');
        assert.equal(r.classPrior, undefined);
        assert.deepEqual(Object.keys(r.timings).sort(), ['adapt', 'backbone', 'preprocess', 'sync']);
        for (const t of Object.values(r.timings)) assert.ok(t >= 0);
        assert.equal(await r.stored, i, 'stored resolves to the seq once durable');
        history.push(new Float32Array(features));
      }
    } finally {
      backbone.dispose();
      iciia.dispose();
      rec.dispose();
    }
  });

  test('any image size and channel count goes through the same preprocessing', async () => {
    const rec = await open({ clientId: newClient() });
    for (const [w, h, c] of [[1, 1, 1], [640, 480, 4], [17, 3, 3]]) {
      const r = await rec.recognize(image(w * h, { width: w, height: h, channels: c }), { remember: false, topK: 2 });
      assert.equal(r.top.length, 2);
      assert.ok(r.top[0].score >= r.top[1].score);
    }
    // A gray image and its RGB copy are the same image.
    const gray = image(3, { channels: 1 });
    const rgb = { ...gray, channels: 3, data: new Uint8Array(gray.data.length * 3).map((_, i) => gray.data[Math.floor(i / 3)]) };
    const a = await rec.recognize(gray, { remember: false });
    const b = await rec.recognize(rgb, { remember: false });
    assert.deepEqual(a.baseline, b.baseline);
    rec.dispose();
  });

  test('a new recognizer on the same client sees the same history; capacity evicts FIFO', async () => {
    const clientId = newClient();
    const rec = await open({ clientId });
    for (let i = 0; i < 12; i++) await rec.recognize(image(100 + i));
    const probe = await rec.recognize(image(999), { remember: false });
    assert.equal(probe.historySize, 8);
    assert.deepEqual(probe.attention.map((a) => a.seq), [4, 5, 6, 7, 8, 9, 10, 11]);
    rec.dispose();

    const again = await open({ clientId });
    assert.equal(await again.history.size(), 8);
    const probe2 = await again.recognize(image(999), { remember: false });
    assert.deepEqual(probe2.attention.map((a) => a.seq), probe.attention.map((a) => a.seq));
    probe.top.forEach((p, k) => assert.ok(Math.abs(p.score - probe2.top[k].score) < 1e-6));
    // A smaller capacity on reopen keeps the newest.
    again.dispose();
    const small = await open({ clientId, historyCapacity: 3 });
    assert.equal(await small.history.size(), 3);
    assert.deepEqual((await small.recognize(image(5), { remember: false })).attention.map((a) => a.seq), [9, 10, 11]);
    small.dispose();
  });

  test('export, clear, import round trip; imports are strict', async () => {
    const rec = await open({ clientId: newClient() });
    for (let i = 0; i < 5; i++) await rec.recognize(image(200 + i));
    const before = await rec.recognize(image(7), { remember: false });
    const blob = await rec.history.export();
    assert.equal(new TextDecoder().decode(blob.subarray(0, 8)), 'ICIIAHX1');
    await rec.history.clear();
    assert.equal(await rec.history.size(), 0);
    assert.equal((await rec.recognize(image(7), { remember: false })).attention.length, 0);
    assert.equal(await rec.history.import(blob), 5);
    assert.equal(await rec.history.size(), 5);
    const afterImport = await rec.recognize(image(7), { remember: false });
    before.top.forEach((p, k) => assert.ok(Math.abs(p.score - afterImport.top[k].score) < 1e-6));

    const flipped = blob.slice();
    flipped[60] ^= 1;
    await assert.rejects(rec.history.import(flipped), (e) => e instanceof ModelFormatError && /record 0: checksum/.test(e.message));
    await assert.rejects(rec.history.import(blob.subarray(0, blob.length - 5)), (e) => e instanceof ModelFormatError && /record 4/.test(e.message));
    await assert.rejects(rec.history.import('nope'), TypeError);
    assert.equal(await rec.history.size(), 5, 'failed imports change nothing');
    // Another model's export is refused.
    const other = await createRecognizer({ model: otherBundleDir, clientId: newClient(), onWarning: () => {}, shiftLevel: 0 });
    await other.recognize(image(1));
    const otherBlob = await other.history.export();
    await assert.rejects(rec.history.import(otherBlob), (e) => e instanceof TypeError && /another model/.test(e.message));
    other.dispose();
    rec.dispose();
  });

  test('stored records cut short or with flipped bytes are skipped, the rest intact', async () => {
    const clientId = newClient();
    const rec = await open({ clientId });
    for (let i = 0; i < 6; i++) await rec.recognize(image(300 + i));
    await rec.flush();
    rec.dispose();
    await tamper('iciia-web', clientId, (key, value) => {
      if (key[1] === 1) return value.slice(0, 40);          // torn write
      if (key[1] === 4) { const v = value.slice(); v[100] ^= 0x40; return v; }  // a flipped bit
      return value;
    });
    const warnings = [];
    const again = await createRecognizer({ model: bundleDir, clientId, onWarning: (m) => warnings.push(m), shiftLevel: 0 });
    assert.equal(await again.history.size(), 4);
    const r = await again.recognize(image(9));
    assert.deepEqual(r.attention.map((a) => a.seq), [0, 2, 3, 5]);
    assert.equal(r.seq, 6, 'sequence numbers go on after the damaged ones');
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0], /record 1 skipped/);
    assert.match(warnings[1], /record 4 skipped: checksum/);
    again.dispose();
  });

  test('history written under another model is never fed to this one', async () => {
    const clientId = newClient();
    const rec = await open({ clientId });
    for (let i = 0; i < 5; i++) await rec.recognize(image(400 + i));
    rec.dispose();
    const warnings = [];
    const other = await createRecognizer({ model: otherBundleDir, clientId, onWarning: (m) => warnings.push(m), shiftLevel: 0 });
    assert.notEqual(other.fingerprint, rec.fingerprint);
    assert.equal(await other.history.size(), 0);
    assert.match(warnings.join('\n'), /5 history record\(s\) written under another model ignored/);
    const r = await other.recognize(image(1));
    assert.equal(r.attention.length, 0);
    other.dispose();
    // The first model still has its own records (one slot of its window went to the other model).
    const back = await open({ clientId });
    assert.equal(await back.history.size(), 5);
    back.dispose();
  });

  test('a commit that fails (quota): the answer still comes, stored rejects typed, nothing earlier is lost', async () => {
    const clientId = newClient();
    const warnings = [];
    const rec = await open({ clientId, onWarning: (m) => warnings.push(m) });
    for (let i = 0; i < 3; i++) await rec.recognize(image(500 + i));
    await rec.flush();
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () {
      throw new DOMException('the disk is full (injected)', 'QuotaExceededError');
    };
    try {
      const r = await rec.recognize(image(9));
      assert.equal(r.top.length, 5, 'the answer is computed whatever the disk says');
      assert.equal(r.seq, 3);
      await assert.rejects(r.stored, (e) => e instanceof StorageError && e.quota === true && /QuotaExceededError/.test(e.message));
      assert.match(warnings.join('\n'), /seq 3\) could not be stored: QuotaExceededError/);
      await assert.rejects(rec.flush(), (e) => e instanceof StorageError && e.quota, 'flush reports the failed commit');
      await rec.flush();  // once
      await assert.rejects(rec.history.import(await rec.history.export()), (e) => e instanceof StorageError && e.quota);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    assert.equal(await rec.history.size(), 3, 'the failed record is gone from memory too');
    const r = await rec.recognize(image(10));
    assert.equal(r.seq, 3, 'the seq that was never stored is free again');
    assert.deepEqual(r.attention.map((a) => a.seq), [0, 1, 2]);
    await r.stored;
    rec.dispose();
    const again = await open({ clientId });
    assert.equal(await again.history.size(), 4);
    again.dispose();
  });

  test('recognize resolves before its record is durable; the next call sees it; stored and flush follow', async () => {
    const clientId = newClient();
    const rec = await open({ clientId, historyCapacity: 16 });
    const r0 = await rec.recognize(image(1));
    // Another connection holds a read-write transaction on the records: our
    // commits queue behind it, and nothing else may wait for them.
    const blocker = await holdRecords('iciia-web');
    try {
      const r1 = await rec.recognize(image(2));
      const r2 = await rec.recognize(image(3));
      assert.deepEqual(r2.attention.map((a) => a.seq), [r0.seq, r1.seq], 'the pending record is in the history');
      assert.equal(r2.historySize, 3);
      assert.equal(await rec.history.size(), 3);
      const settled = await Promise.race([r1.stored.then(() => 'stored'), new Promise((res) => setTimeout(() => res('pending'), 100))]);
      assert.equal(settled, 'pending', 'the commit waits for the disk, the answers did not');
      assert.equal(await countRecords('iciia-web', clientId, blocker), 1, 'only the first record is durable so far');
    } finally {
      blocker.release();
    }
    await rec.flush();
    assert.equal(await countRecords('iciia-web', clientId), 3);
    rec.dispose();
  });

  test('two recognizers appending concurrently to one client: every record exactly once', async () => {
    const clientId = newClient();
    const a = await open({ clientId, historyCapacity: 64 });
    const b = await open({ clientId, historyCapacity: 64 });
    const calls = [];
    for (let i = 0; i < 40; i++) calls.push((i % 2 ? a : b).recognize(image(600 + i)));
    const results = await Promise.all(calls);
    const seqs = results.map((r) => r.seq).sort((x, y) => x - y);
    assert.deepEqual(seqs, Array.from({ length: 40 }, (_, i) => i), 'each append got its own seq');
    assert.equal(await a.history.size(), 40);
    assert.equal(await b.history.size(), 40);
    const ea = await a.history.export();
    const eb = await b.history.export();
    assert.deepEqual(ea, eb, 'both see the same records in the same order');
    // And a third, fresh one sees them all from storage.
    const c = await open({ clientId, historyCapacity: 64 });
    assert.deepEqual(await c.history.export(), ea);
    for (const r of [a, b, c]) r.dispose();
  });

  test('flush resolves once everything called before is durable; recognizeBatch keeps order', async () => {
    const clientId = newClient();
    const rec = await open({ clientId, historyCapacity: 16 });
    const pending = [rec.recognize(image(1)), rec.recognize(image(2))];
    await rec.flush();
    const settled = await Promise.all(pending);
    assert.deepEqual(settled.map((r) => r.seq), [0, 1]);
    const batch = await rec.recognizeBatch([image(3), image(4), image(5)]);
    assert.deepEqual(batch.map((r) => r.seq), [2, 3, 4]);
    assert.deepEqual(batch.map((r) => r.attention.length), [2, 3, 4]);
    await assert.rejects(async () => rec.recognizeBatch([image(6), { data: new Uint8Array(3), width: 2, height: 2, channels: 3 }]), /recognizeBatch\[1\]/);
    assert.equal(await rec.history.size(), 5, 'a bad image in a batch stores none of it');
    rec.dispose();
    const again = await open({ clientId, historyCapacity: 16 });
    assert.equal(await again.history.size(), 5);
    again.dispose();
  });

  test('the shift gate: the backbone answers until the history shows a shift, then the mode, exactly as ungated', async () => {
    const clientId = newClient();
    // The default level; the same image again and again is a one-class
    // client, but this random backbone is unsure (max posterior ~0.3), so a
    // window of 8 never passes 0.99. Level 0.5 passes after a few.
    const strict = await createRecognizer({ model: bundleDir, clientId: newClient(), onWarning: () => {} });
    assert.equal(strict.shiftLevel, 0.99);
    const held = await strict.recognize(image(7), { remember: false });
    assert.equal(held.adaptation, 'none');
    assert.ok(held.shift.threshold > 13 && held.shift.threshold < 14, `chi-square(4) at 0.99: ${held.shift.threshold}`);
    assert.deepEqual(held.top, held.baseline);
    strict.dispose();

    const rec = await createRecognizer({ model: bundleDir, clientId, shiftLevel: 0.5, onWarning: () => {} });
    const ungated = await open({ clientId });
    try {
      assert.equal(rec.shiftLevel, 0.5);
      assert.equal(ungated.shiftLevel, 0);
      let opened = -1;
      for (let i = 0; i < 8; i++) {
        // Over the same history: the ungated recognizer asks first (r then remembers).
        const u = await ungated.recognize(image(7), { remember: false, topK: 5 });
        const r = await rec.recognize(image(7), { topK: 5 });
        assert.ok(r.shift && r.shift.threshold > 0 && r.shift.statistic >= 0, `image ${i}: the test ran`);
        if (r.adaptation === 'iciia' && opened < 0) opened = i;
        if (opened < 0) {
          assert.equal(r.adaptation, 'none');
          assert.ok(r.shift.statistic <= r.shift.threshold);
          assert.deepEqual(r.top, r.baseline);
          assert.equal(r.attention.length, 0);
        } else {
          assert.equal(r.adaptation, 'iciia', `image ${i}: G only grows for one class`);
          assert.ok(r.shift.statistic > r.shift.threshold);
          // The gate's answer is the ungated mode's over the same history.
          assert.equal(u.shift, undefined);
          assert.deepEqual(r.top.map((p) => p.index), u.top.map((p) => p.index));
          r.top.forEach((p, k) => assert.ok(Math.abs(p.score - u.top[k].score) < 1e-6));
          assert.equal(r.attention.length, u.attention.length);
        }
      }
      assert.ok(opened >= 1 && opened <= 6, `the gate opened at image ${opened}`);
      await rec.setAdaptation('none');
      const none = await rec.recognize(image(7), { remember: false });
      assert.equal(none.shift, undefined, 'mode none runs no test');
    } finally {
      rec.dispose();
      ungated.dispose();
    }
    for (const bad of [1, -0.1, NaN, '0.9']) {
      await assert.rejects(open({ clientId: 'x', shiftLevel: bad }), (e) => e instanceof InvalidArgumentError && /shiftLevel/.test(e.message));
    }
  });

  test("adaptation 'prior' equals EM prior correction of the backbone's posteriors; 'none' the backbone; switching in call order", async () => {
    const rec = await open({ clientId: newClient(), adaptation: 'prior' });
    assert.equal(rec.adaptation, 'prior');
    assert.deepEqual(rec.adaptations, ['iciia', 'prior', 'none']);
    assert.ok(Math.abs(rec.priorAlpha - 0.3 / 5) < 1e-12, 'the default: 0.3 pseudo-images over the 5 classes');
    const posteriors = [];
    for (let i = 0; i < 12; i++) {
      const r = await rec.recognize(image(800 + i), { topK: 5 });
      assert.equal(r.adaptation, 'prior');
      assert.equal(r.attention.length, 0);
      const p = new Float64Array(5);
      for (const b of r.baseline) p[b.index] = b.score;  // topK = C: the whole softmax
      const rows = [...posteriors.slice(-8), p];
      const q = Float64Array.from(r.classPrior);
      assert.ok(Math.abs(q.reduce((a, v) => a + v, 0) - 1) < 1e-5);
      // q is EM's fixed point over [history; this image]: one more step moves it by nothing.
      const next = emStep(rows, new Float64Array(5).fill(0.2), rec.priorAlpha, q);
      next.forEach((v, y) => assert.ok(Math.abs(v - q[y]) < 1e-5, `image ${i}: EM moves prior[${y}] from ${q[y]} to ${v}`));
      // The answer is this image's posterior re-weighted by q (uniform source prior).
      const w = Array.from(p, (v, y) => v * q[y]);
      const z = w.reduce((a, v) => a + v, 0);
      for (const t of r.top) assert.ok(Math.abs(t.score - w[t.index] / z) < 1e-5, `image ${i}: class ${t.index}`);
      posteriors.push(p);
    }
    // Switches apply in call order: the call queued before keeps its mode.
    const before = rec.recognize(image(900), { remember: false });
    const switched = rec.setAdaptation('none');
    assert.equal(rec.adaptation, 'none');
    const none = rec.recognize(image(900), { remember: false });
    await switched;
    assert.equal((await before).adaptation, 'prior');
    const n = await none;
    assert.equal(n.adaptation, 'none');
    assert.deepEqual(n.top, n.baseline);
    // Back to ICIIA: its cache is rebuilt over the 8 records remembered meanwhile.
    await rec.setAdaptation('iciia');
    const ic = await rec.recognize(image(901), { remember: false });
    assert.equal(ic.adaptation, 'iciia');
    assert.equal(ic.attention.length, 8);
    assert.throws(() => rec.setAdaptation('magic'), (e) => e instanceof TypeError && /'iciia', 'prior' or 'none'/.test(e.message));
    rec.dispose();
    await assert.rejects(open({ clientId: 'x', adaptation: 'fast' }), TypeError);
    await assert.rejects(open({ clientId: 'x', priorAlpha: -1 }), (e) => e instanceof TypeError && /priorAlpha/.test(e.message));
  });

  test("a backbone-only bundle adapts by prior correction, refuses 'iciia', and shares the backbone's history", async () => {
    const files = bundleFiles(bundleDir);
    const manifest = JSON.parse(files['manifest.json']);
    delete manifest.iciia;
    delete manifest.adaptation;  // its default, 'iciia', would need the weights
    const backboneOnly = { 'manifest.json': JSON.stringify(manifest), 'backbone.onnx': files['backbone.onnx'] };
    const clientId = newClient();
    const rec = await createRecognizer({ model: backboneOnly, clientId, onWarning: () => {}, shiftLevel: 0 });
    assert.equal(rec.adaptation, 'prior');
    assert.deepEqual(rec.adaptations, ['prior', 'none']);
    assert.throws(() => rec.setAdaptation('iciia'), (e) => e instanceof InvalidArgumentError && /needs ICIIA weights/.test(e.message));
    await assert.rejects(createRecognizer({ model: backboneOnly, clientId: 'x', adaptation: 'iciia' }),
      (e) => e instanceof InvalidArgumentError && /'iciia' needs ICIIA weights/.test(e.message));
    for (let i = 0; i < 4; i++) assert.equal((await rec.recognize(image(40 + i))).adaptation, 'prior');
    await rec.flush();
    const full = await open({ clientId });
    assert.notEqual(full.fingerprint, rec.fingerprint);
    assert.equal(full.historyFingerprint, rec.historyFingerprint, 'tagged by the backbone alone');
    assert.equal((await full.recognize(image(1), { remember: false })).attention.length, 4);
    // A new ICIIA module for the same backbone keeps the history too.
    const other = bundleFiles(otherBundleDir);
    const retrained = { ...files, 'iciia.safetensors': other['iciia.safetensors'] };
    const m2 = JSON.parse(files['manifest.json']);
    m2.iciia.sha256 = createHash('sha256').update(other['iciia.safetensors']).digest('hex');
    retrained['manifest.json'] = JSON.stringify(m2);
    const next = await createRecognizer({ model: retrained, clientId, onWarning: () => {}, shiftLevel: 0 });
    assert.notEqual(next.fingerprint, full.fingerprint);
    assert.equal((await next.recognize(image(1), { remember: false })).attention.length, 4);
    for (const r of [rec, full, next]) r.dispose();
  });

  test('records and exports of the previous format (version 1) stay readable', async () => {
    const clientId = newClient();
    const rec0 = await open({ clientId });
    const bundleFingerprint = rec0.fingerprint;
    rec0.dispose();
    const backbone = await Backbone.load(readFileSync(join(bundleDir, 'backbone.onnx')), { tensors: ['features'] });
    const featuresOf = (img) => {
      const input = new Float32Array(3 * SIZE * SIZE);
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < SIZE * SIZE; p++) input[c * SIZE * SIZE + p] = (img.data[p * 3 + c] / 255 - 0.5) / 0.25;
      backbone.run(input);
      return new Float32Array(backbone.read('features'));
    };
    const features = [0, 1, 2].map((i) => featuresOf(image(1000 + i)));
    const target = featuresOf(image(5));
    backbone.dispose();
    // What the previous release left in IndexedDB: three records and a head.
    await putRaw('iciia-web', clientId, [
      ...features.map((f, i) => [i, v1Record(i, 1000 + i, f, bundleFingerprint)]),
      [-1, v1Head(3, 0)],
    ]);
    const warnings = [];
    const rec = await open({ clientId, onWarning: (m) => warnings.push(m) });
    assert.equal(await rec.history.size(), 3);
    const r = await rec.recognize(image(5));
    assert.deepEqual(r.attention.map((a) => a.seq), [0, 1, 2], 'ICIIA attends over the old records');
    assert.equal(r.seq, 3);
    const withTarget = await rec.recognize(image(5), { remember: false, topK: 5 });
    assert.equal(withTarget.attention.length, 4);
    const iciia = await IciiaModel.load(readFileSync(join(bundleDir, 'iciia.safetensors')));
    const seq = new Float32Array(5 * 16);
    [...features, target, target].forEach((f, k) => seq.set(f, k * 16));
    const out = iciia.forward(seq, 5).subarray(4 * 5);
    iciia.dispose();
    const max = Math.max(...out);
    const z = out.reduce((a, v) => a + Math.exp(v - max), 0);
    for (const t of withTarget.top) assert.ok(Math.abs(t.score - Math.exp(out[t.index] - max) / z) < 1e-5, `class ${t.index}`);
    assert.deepEqual(warnings, []);
    await rec.setAdaptation('prior');
    const p = await rec.recognize(image(6), { remember: false });
    assert.equal(p.adaptation, 'prior');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /3 history record\(s\) of format version 1 hold no backbone logits/);
    // An export carries them (as version 2 without logits) and the new one.
    const blob = await rec.history.export();
    assert.equal(new DataView(blob.buffer, blob.byteOffset).getUint32(8, true), 4);
    const v2 = new DataView(blob.buffer, blob.byteOffset + 16 + 4);
    assert.equal(v2.getUint16(4, true), 2, 'records are exported in format version 2');
    assert.equal(v2.getUint32(60, true), 0, 'an old record has no logits');
    rec.dispose();

    // An export written by the previous release imports.
    const oldExport = v1Export(features.map((f, i) => v1Record(i, 2000 + i, f, bundleFingerprint)));
    const fresh = await open({ clientId: newClient() });
    assert.equal(await fresh.history.import(oldExport), 3);
    assert.equal(await fresh.history.size(), 3);
    assert.equal(await fresh.history.import(await fresh.history.export()), 3, 'and its re-export imports again');
    assert.equal(await fresh.history.size(), 6);
    const other = await createRecognizer({ model: otherBundleDir, clientId: newClient(), onWarning: () => {}, shiftLevel: 0 });
    await assert.rejects(other.history.import(oldExport), (e) => e instanceof TypeError && /another model/.test(e.message));
    other.dispose();
    fresh.dispose();
  });

  test('bad images, options and bundles are typed errors that say what was expected', async () => {
    const rec = await open({ clientId: newClient() });
    const bad = [
      [null, /expected an ImageBitmap, ImageData/],
      ['pixels', /expected an ImageBitmap/],
      [{ data: [1, 2, 3], width: 1, height: 1, channels: 3 }, /Uint8Array or Uint8ClampedArray/],
      [{ data: new Uint8Array(0), width: 0, height: 0, channels: 1 }, /expected at least 1x1/],
      [{ data: new Uint8Array(12), width: 2, height: 2, channels: 2 }, /channels must be 1 \(gray\), 3 \(RGB\) or 4/],
      [{ data: new Uint8Array(11), width: 2, height: 2, channels: 3 }, /holds 11 bytes; 2x2x3 needs 12/],
      [{ data: new Uint8Array(1), width: 100000, height: 1, channels: 1 }, /at most 16384 pixels per side/],
      [{ data: new Uint8Array(4), width: 1.5, height: 2, channels: 1 }, /must be integers/],
    ];
    for (const [img, message] of bad) assert.throws(() => rec.recognize(img), (e) => e instanceof TypeError && message.test(e.message), String(message));
    // A closed ImageBitmap reports 0x0 (simulated: Node has no ImageBitmap).
    globalThis.ImageBitmap = class { width = 0; height = 0; };
    try {
      assert.throws(() => rec.recognize(new globalThis.ImageBitmap()), /ImageBitmap is closed/);
    } finally {
      delete globalThis.ImageBitmap;
    }
    assert.throws(() => rec.recognize(image(1), { topK: 0 }), (e) => e instanceof TypeError && /topK/.test(e.message));
    assert.equal(await rec.history.size(), 0, 'nothing was stored by the failed calls');
    rec.dispose();
    assert.throws(() => rec.recognize(image(1)), DisposedError);
    assert.throws(() => rec.history.size(), DisposedError);
    assert.throws(() => rec.flush(), DisposedError);
    rec.dispose();  // twice is harmless

    await assert.rejects(createRecognizer({ model: bundleDir }), (e) => e instanceof TypeError && /clientId/.test(e.message));
    await assert.rejects(open({ clientId: 'x', historyCapacity: 0 }), (e) => e instanceof TypeError && /historyCapacity/.test(e.message));
    await assert.rejects(open({ clientId: 'x', backend: 'gpu' }), (e) => e instanceof TypeError && /backend/.test(e.message));
    await assert.rejects(createRecognizer({ model: join(work, 'nowhere'), clientId: 'x' }), ModelLoadError);

    const files = bundleFiles(bundleDir);
    const weights = new Uint8Array(files['iciia.safetensors']);
    weights[weights.length - 1] ^= 1;
    await assert.rejects(createRecognizer({ model: { ...files, 'iciia.safetensors': weights }, clientId: 'x' }),
      (e) => e instanceof ModelFormatError && /iciia.safetensors has sha256/.test(e.message));
    const manifest = JSON.parse(files['manifest.json']);
    delete manifest.backbone.logits;
    await assert.rejects(createRecognizer({ model: { ...files, 'manifest.json': JSON.stringify(manifest) }, clientId: 'x' }),
      (e) => e instanceof ModelFormatError && /backbone.logits: missing/.test(e.message));
    await assert.rejects(createRecognizer({ model: { ...files, 'manifest.json': '{' }, clientId: 'x' }), ModelFormatError);
    const fine = await createRecognizer({ model: files, clientId: newClient() });
    assert.equal(fine.labels.length, 5);
    fine.dispose();
  });

  test('onProgress reports the download, ending at the total', async () => {
    const seen = [];
    const rec = await open({ clientId: newClient(), onProgress: (p) => seen.push(p) });
    const last = seen.at(-1);
    const total = ['manifest.json', 'backbone.onnx', 'iciia.safetensors'].reduce((s, f) => s + readFileSync(join(bundleDir, f)).length, 0);
    assert.equal(last.loaded, total);
    assert.equal(last.total, total);
    assert.ok(seen.every((p, i) => i === 0 || p.loaded >= seen[i - 1].loaded));
    rec.dispose();
  });
});

const ortRun = join(repoRoot, 'tests', 'ort', 'ort_run.mjs');
const ortSkip = existsSync(join(repoRoot, 'tests', 'ort', 'node_modules', 'onnxruntime-web')) ? skip : 'onnxruntime-web not installed in tests/ort (scripts/setup.sh)';
if (ortSkip && !skip) console.log(`# SKIP backend 'ort': ${ortSkip}`);

test("backend 'ort' gives the same top-1 as 'native'", { skip: ortSkip }, async () => {
  const { ort } = await import(ortRun);
  const native = await open({ clientId: newClient() });
  const viaOrt = await open({ clientId: newClient(), backend: 'ort', ort });
  assert.equal(viaOrt.backend, 'ort');
  for (let i = 0; i < 12; i++) {
    const img = image(700 + i, { width: 23, height: 19, channels: 4 });
    const [a, b] = [await native.recognize(img), await viaOrt.recognize(img)];
    assert.equal(b.baseline[0].index, a.baseline[0].index, `image ${i} baseline`);
    assert.equal(b.top[0].index, a.top[0].index, `image ${i} adapted`);
    assert.ok(Math.abs(a.top[0].score - b.top[0].score) < 1e-4);
  }
  native.dispose();
  viaOrt.dispose();
});

test('1000 create / recognize / dispose cycles keep the wasm heap flat', { skip }, async () => {
  const core = await loadCore();
  const files = bundleFiles(bundleDir);
  const cycle = async (i) => {
    const rec = await createRecognizer({ model: files, clientId: `mem-${i % 4}` });
    const r = await rec.recognize(image(i, { width: 32, height: 24, channels: 4 }));
    rec.dispose();  // while the record's commit is pending: freed once it is done
    await r.stored;
  };
  for (let i = 0; i < 50; i++) await cycle(i);  // warm up: allocator pools, IndexedDB connection
  // The metric sees a live recognizer (models, packed weights, arena), so a
  // leak of one would show.
  const live = await createRecognizer({ model: files, clientId: 'mem-live' });
  const liveBytes = core.heapStats().usedBytes;
  live.dispose();
  const start = core.heapStats();
  assert.ok(liveBytes - start.usedBytes > 10000, `a live recognizer holds ${liveBytes - start.usedBytes} bytes`);
  for (let i = 0; i < 1000; i++) await cycle(i);
  const end = core.heapStats();
  const grew = end.usedBytes - start.usedBytes;
  console.log(`# heap: a live recognizer holds ${liveBytes - start.usedBytes} bytes; over 1000 cycles: used ${start.usedBytes} -> ${end.usedBytes} bytes (${grew >= 0 ? '+' : ''}${grew}), memory ${start.heapBytes} -> ${end.heapBytes}`);
  assert.ok(grew < 64 * 1024, `used heap grew by ${grew} bytes over 1000 cycles`);
  assert.equal(end.heapBytes, start.heapBytes, 'the wasm memory did not grow');
});

/** The test bundle's files, in memory. */
function bundleFiles(dir) {
  return Object.fromEntries(['manifest.json', 'backbone.onnx', 'iciia.safetensors'].map((f) => [f, readFileSync(join(dir, f))]));
}

/**
 * One step of EM prior correction (Saerens et al. 2002), written here
 * independently of the core: rows of posteriors, the source prior,
 * Dirichlet alpha, the current estimate q; returns the next estimate.
 */
function emStep(rows, source, alpha, q) {
  const C = source.length;
  const sum = new Float64Array(C);
  for (const p of rows) {
    let z = 0;
    for (let y = 0; y < C; y++) z += (p[y] * q[y]) / source[y];
    if (!(z > 0)) continue;
    for (let y = 0; y < C; y++) sum[y] += (p[y] * q[y]) / source[y] / z;
  }
  const total = sum.reduce((a, v) => a + v + alpha, 0);
  return sum.map((v) => (v + alpha) / total);
}

/** CRC-32 (IEEE), for records written by hand. */
function crc32(bytes) {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return ~c >>> 0;
}

/** A history record as the previous release (format version 1) wrote it: features only, the bundle's fingerprint. */
function v1Record(seq, timestamp, features, fingerprintHex) {
  const out = new Uint8Array(64 + features.length * 4 + 4);
  const v = new DataView(out.buffer);
  out.set([0x49, 0x43, 0x48, 0x52]);  // "ICHR"
  v.setUint16(4, 1, true);
  v.setBigUint64(8, BigInt(seq), true);
  v.setFloat64(16, timestamp, true);
  out.set(Buffer.from(fingerprintHex, 'hex'), 24);
  v.setUint32(56, features.length, true);
  out.set(new Uint8Array(features.buffer, features.byteOffset, features.length * 4), 64);
  v.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

function v1Head(nextSeq, generation) {
  const out = new Uint8Array(28);
  const v = new DataView(out.buffer);
  out.set([0x49, 0x43, 0x48, 0x48]);  // "ICHH"
  v.setUint16(4, 1, true);
  v.setBigUint64(8, BigInt(nextSeq), true);
  v.setBigUint64(16, BigInt(generation), true);
  v.setUint32(24, crc32(out.subarray(0, 24)), true);
  return out;
}

/** An export of the previous release: "ICIIAHX1", count, reserved, then length-prefixed records. */
function v1Export(records) {
  const parts = [new Uint8Array(16)];
  const head = new DataView(parts[0].buffer);
  parts[0].set(new TextEncoder().encode('ICIIAHX1'));
  head.setUint32(8, records.length, true);
  for (const r of records) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, r.length, true);
    parts.push(len, r);
  }
  return Buffer.concat(parts);
}

function openDb(database) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(database);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => resolve(req.result);
  });
}

/** Writes raw values under [clientId, seq]. */
async function putRaw(database, clientId, entries) {
  const db = await openDb(database);
  await new Promise((resolve, reject) => {
    const tx = db.transaction('records', 'readwrite');
    for (const [seq, value] of entries) tx.objectStore('records').put(value, [clientId, seq]);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

/**
 * Holds a read-write transaction on the records from another connection
 * until release(): later transactions on the store queue behind it.
 * count(clientId) reads inside it (what is durable so far).
 */
async function holdRecords(database) {
  const db = await openDb(database);
  const tx = db.transaction('records', 'readwrite');
  const store = tx.objectStore('records');
  let held = true;
  const spin = () => {
    if (held) store.get([0]).onsuccess = spin;
  };
  spin();
  const done = new Promise((resolve) => (tx.oncomplete = resolve));
  return {
    count: (clientId) => new Promise((resolve) => {
      store.count(IDBKeyRange.bound([clientId, 0], [clientId, Infinity])).onsuccess = (e) => resolve(e.target.result);
    }),
    release: () => {
      held = false;
      void done.then(() => db.close());
    },
  };
}

/** Records stored for a client (read inside `within`'s transaction when given). */
async function countRecords(database, clientId, within) {
  if (within) return within.count(clientId);
  const db = await openDb(database);
  const n = await new Promise((resolve) => {
    db.transaction('records').objectStore('records').count(IDBKeyRange.bound([clientId, 0], [clientId, Infinity])).onsuccess = (e) =>
      resolve(e.target.result);
  });
  db.close();
  return n;
}

/** Rewrites stored values of one client (key [clientId, seq]) in place. */
function tamper(database, clientId, edit) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(database);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const tx = db.transaction('records', 'readwrite');
      const store = tx.objectStore('records');
      const cursor = store.openCursor(IDBKeyRange.bound([clientId, 0], [clientId, Infinity]));
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (!c) return;
        c.update(edit(c.key, c.value));
        c.continue();
      };
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}
