#!/usr/bin/env node
// The history store (IndexedDB, one record per key) against the naive
// anchor (the whole history as one IndexedDB value, rewritten on every
// append — what a file-per-history or IDBFS-style mirror does), in one Node
// process over fake-indexeddb, d = 1280 and capacity 1024 (ICIIA-T, g = 256).
//
//   node tests/bench/history_store.mjs [--reps 100] [--dim 1280] [--capacity 1024]
//
// Prints medians of: appending one record durably (ours: the commit that
// follows recognize()'s answer, until r.stored resolves: one transaction
// with the record, the head and the eviction; anchor: read-modify-write of
// the blob), and loading a full history at start-up (ours: createRecognizer
// on a full client minus on an empty one; anchor: one get).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { installFakeIndexedDb, repoRoot } from '../node/helpers.mjs';

const { values: args } = parseArgs({
  options: { reps: { type: 'string', default: '100' }, dim: { type: 'string', default: '1280' }, capacity: { type: 'string', default: '1024' } },
});
const reps = Number(args.reps), dim = Number(args.dim), capacity = Number(args.capacity);

await installFakeIndexedDb();
const { createRecognizer } = await import('../../web/dist/index.js');

const dir = mkdtempSync(join(tmpdir(), 'iciia-store-bench-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
execFileSync(join(repoRoot, 'build', 'native', 'iciia_make_test_models'),
  ['--bundle', dir, '1', '--dim', String(dim), '--partitions', String(Math.min(256, dim)), '--capacity', String(capacity), '--heads', '4']);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
let seed = 1;
const image = () => {
  const data = new Uint8Array(16 * 16 * 3);
  for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  return { data, width: 16, height: 16, channels: 3 };
};

// ---- ours
const open = (clientId) => createRecognizer({ model: dir, clientId, historyCapacity: capacity });
const rec = await open('full');
process.stdout.write(`filling a history of ${capacity} x ${dim} features ...`);
for (let i = 0; i < capacity; i++) await rec.recognize(image());
console.log(' done');
const oursAppend = [];
for (let i = 0; i < reps; i++) {
  const r = await rec.recognize(image());
  const t0 = performance.now();
  await r.stored;
  oursAppend.push(performance.now() - t0);
}
rec.dispose();

const openMs = async (clientId) => {
  const t0 = performance.now();
  const r = await open(clientId);
  const ms = performance.now() - t0;
  if (clientId === 'full' && (await r.history.size()) !== capacity) throw new Error('history not full');
  r.dispose();
  return ms;
};
const full = [], empty = [];
for (let i = 0; i < Math.max(5, Math.round(reps / 10)); i++) {
  full.push(await openMs('full'));
  empty.push(await openMs(`empty-${i}`));
}
const oursLoad = median(full) - median(empty);

// ---- anchor: one value holding the whole history
const db = await new Promise((resolve, reject) => {
  const req = indexedDB.open('anchor', 1);
  req.onupgradeneeded = () => req.result.createObjectStore('blobs');
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});
const tx = (mode, body) => new Promise((resolve, reject) => {
  const t = db.transaction('blobs', mode);
  let result;
  body(t.objectStore('blobs'), (r) => (result = r));
  t.oncomplete = () => resolve(result);
  t.onerror = () => reject(t.error);
});
const appendBlob = (feature) => tx('readwrite', (store) => {
  const get = store.get('history');
  get.onsuccess = () => {
    const old = get.result ?? new Float32Array(0);
    const keep = Math.min(old.length / dim, capacity - 1);
    const next = new Float32Array((keep + 1) * dim);
    next.set(old.subarray(old.length - keep * dim));
    next.set(feature, keep * dim);
    store.put(next, 'history');
  };
});
const feature = () => Float32Array.from({ length: dim }, () => Math.random());
for (let i = 0; i < capacity; i++) await appendBlob(feature());
const anchorAppend = [];
for (let i = 0; i < reps; i++) {
  const f = feature();
  const t0 = performance.now();
  await appendBlob(f);
  anchorAppend.push(performance.now() - t0);
}
const anchorLoad = [];
for (let i = 0; i < full.length; i++) {
  const t0 = performance.now();
  const h = await tx('readonly', (store, set) => {
    const g = store.get('history');
    g.onsuccess = () => set(g.result);
  });
  if (h.length !== capacity * dim) throw new Error('anchor history not full');
  anchorLoad.push(performance.now() - t0);
}

const f = (x) => x.toFixed(2).padStart(9);
console.log(`\nhistory store, d = ${dim}, capacity ${capacity}, ${reps} appends at full capacity; Node ${process.versions.node}, fake-indexeddb, ${cpus()[0].model}`);
console.log('                              ours (ms)  anchor (ms)  ours/anchor');
console.log(`append one record durably  ${f(median(oursAppend))}  ${f(median(anchorAppend))}  ${(median(oursAppend) / median(anchorAppend)).toFixed(3).padStart(11)}`);
console.log(`load the full history      ${f(oursLoad)}  ${f(median(anchorLoad))}  ${(oursLoad / median(anchorLoad)).toFixed(3).padStart(11)}`);
console.log(`  (ours: createRecognizer on a full client ${median(full).toFixed(2)} ms, on an empty one ${median(empty).toFixed(2)} ms;`);
console.log(`   the load includes decoding, checksums and the ICIIA k/v cache of all ${capacity} rows)`);
