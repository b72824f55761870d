// The recognizer end to end on the wasm build in Node, with IndexedDB from
// fake-indexeddb (the same core code path as in a browser): recognition
// against its parts, persistence, eviction, export/import, storage faults,
// two recognizers on one client, bad input, the 'ort' backend, and memory.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { installFakeIndexedDb, repoRoot, writeTestBundle } from './helpers.mjs';

await installFakeIndexedDb();
const pkg = await import('../../web/dist/index.js');
const { createRecognizer, loadCore, Backbone, IciiaModel, DisposedError, ModelFormatError, ModelLoadError, StorageError } = pkg;

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
const open = (opts) => createRecognizer({ model: bundleDir, onWarning: () => {}, ...opts });

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
        for (const t of ['preprocess', 'backbone', 'iciia', 'store']) assert.ok(r.timings[t] >= 0);
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
    const other = await createRecognizer({ model: otherBundleDir, clientId: newClient(), onWarning: () => {} });
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
    rec.dispose();
    await tamper('iciia-web', clientId, (key, value) => {
      if (key[1] === 1) return value.slice(0, 40);          // torn write
      if (key[1] === 4) { const v = value.slice(); v[100] ^= 0x40; return v; }  // a flipped bit
      return value;
    });
    const warnings = [];
    const again = await createRecognizer({ model: bundleDir, clientId, onWarning: (m) => warnings.push(m) });
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
    const other = await createRecognizer({ model: otherBundleDir, clientId, onWarning: (m) => warnings.push(m) });
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

  test('a quota error on write is a typed error and loses nothing', async () => {
    const clientId = newClient();
    const rec = await open({ clientId });
    for (let i = 0; i < 3; i++) await rec.recognize(image(500 + i));
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function () {
      throw new DOMException('the disk is full (injected)', 'QuotaExceededError');
    };
    try {
      await assert.rejects(rec.recognize(image(9)), (e) => e instanceof StorageError && e.quota === true && /QuotaExceededError/.test(e.message));
      await assert.rejects(rec.history.import(await rec.history.export()), (e) => e instanceof StorageError && e.quota);
    } finally {
      IDBObjectStore.prototype.put = put;
    }
    assert.equal(await rec.history.size(), 3);
    const r = await rec.recognize(image(10));
    assert.equal(r.seq, 3);
    assert.equal(r.attention.length, 3);
    rec.dispose();
    const again = await open({ clientId });
    assert.equal(await again.history.size(), 4);
    again.dispose();
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

    const files = Object.fromEntries(['manifest.json', 'backbone.onnx', 'iciia.safetensors'].map((f) => [f, readFileSync(join(bundleDir, f))]));
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
  const files = Object.fromEntries(['manifest.json', 'backbone.onnx', 'iciia.safetensors'].map((f) => [f, readFileSync(join(bundleDir, f))]));
  const cycle = async (i) => {
    const rec = await createRecognizer({ model: files, clientId: `mem-${i % 4}` });
    await rec.recognize(image(i, { width: 32, height: 24, channels: 4 }));
    rec.dispose();
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
