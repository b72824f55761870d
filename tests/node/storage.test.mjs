// The storage side of the package in Node (fake-indexeddb, a fake Storage
// API): history.usage() and history.persist() over navigator.storage, the
// durability hint each commit's transaction carries, and a database deleted
// from outside while a recognizer has it open.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';

import { installFakeIndexedDb, writeTestBundle } from './helpers.mjs';

await installFakeIndexedDb();
const { createRecognizer, DisposedError, StorageError } = await import('../../web/dist/index.js');

const work = mkdtempSync(join(tmpdir(), 'iciia-storage-'));
after(() => rmSync(work, { recursive: true, force: true }));
const bundleDir = writeTestBundle(join(work, 'bundle'));
const skip = bundleDir ? false : 'build/native/iciia_make_test_models not built (scripts/build.sh): these tests need the test bundle';
if (skip) console.log(`# SKIP storage tests: ${skip}`);

function image(seed) {
  let s = (seed * 2654435761) >>> 0 || 1;
  const data = new Uint8Array(16 * 16 * 3);
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = (s >>> 0) & 255;
  }
  return { data, width: 16, height: 16, channels: 3 };
}

let clients = 0;
const open = (opts = {}) => {
  const warnings = [];
  const rec = createRecognizer({ model: bundleDir, clientId: `storage-${++clients}`, onWarning: (m) => warnings.push(m), shiftLevel: 0, ...opts });
  return rec.then((r) => Object.assign(r, { warnings }));
};

/** Installs navigator.storage (a fake of StorageManager) for one test. */
function fakeNavigator(storage) {
  const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { storage }, configurable: true, writable: true });
  return () => (had ? Object.defineProperty(globalThis, 'navigator', had) : delete globalThis.navigator);
}

describe('history.usage() and history.persist()', { skip }, () => {
  let restore = null;
  afterEach(() => {
    restore?.();
    restore = null;
  });

  test('without a Storage API: a StorageError saying what is missing', async () => {
    restore = fakeNavigator(undefined);
    const rec = await open();
    await assert.rejects(rec.history.usage(), (e) => e instanceof StorageError && e.quota === false && /navigator\.storage/.test(e.message));
    await assert.rejects(rec.history.persist(), (e) => e instanceof StorageError && /navigator\.storage/.test(e.message));
    rec.dispose();
  });

  test("the browser's estimate and persistence, as the Storage API reports them", async () => {
    let persisted = false;
    let asked = 0;
    restore = fakeNavigator({
      estimate: async () => ({ usage: 123_456, quota: 9_000_000, usageDetails: { indexedDB: 100_000 } }),
      persisted: async () => persisted,
      persist: async () => {
        asked++;
        persisted = true;
        return true;
      },
    });
    const rec = await open();
    assert.deepEqual(await rec.history.usage(), { usage: 123_456, quota: 9_000_000, persisted: false });
    assert.equal(await rec.history.persist(), true);
    assert.equal(asked, 1, 'persist() asked the browser once');
    assert.equal((await rec.history.usage()).persisted, true);
    rec.dispose();
    assert.throws(() => rec.history.usage(), DisposedError);
    assert.throws(() => rec.history.persist(), DisposedError);
  });

  test('a refusal, a malformed estimate, and a worker (no persist()): typed, or what is known', async () => {
    restore = fakeNavigator({
      estimate: async () => {
        throw Object.assign(new Error('denied'), { name: 'SecurityError' });
      },
      persisted: async () => true,
    });
    const rec = await open();
    await assert.rejects(rec.history.usage(), (e) => e instanceof StorageError && /denied/.test(e.message) && e.cause?.name === 'SecurityError');
    assert.equal(await rec.history.persist(), true, 'without persist() (a worker): whether it is persistent already');
    restore();
    restore = fakeNavigator({ estimate: async () => ({ usage: 'lots', quota: -1 }), persisted: async () => false });
    await assert.rejects(rec.history.usage(), (e) => e instanceof StorageError && /not a pair of byte counts/.test(e.message));
    restore();
    restore = fakeNavigator({ estimate: async () => ({ usage: 1, quota: 2 }), persisted: async () => false, persist: async () => false });
    assert.equal(await rec.history.persist(), false, 'the browser said no');
    rec.dispose();
  });
});

describe('the durability hint of commits', { skip }, () => {
  test("readwrite transactions ask for 'strict' by default, 'relaxed' when told; reads ask nothing", async () => {
    const seen = [];
    const original = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (stores, mode, options) {
      seen.push({ mode: mode ?? 'readonly', durability: options?.durability });
      return original.call(this, stores, mode, options);
    };
    try {
      for (const [durability, expected] of [[undefined, 'strict'], ['strict', 'strict'], ['relaxed', 'relaxed']]) {
        seen.length = 0;
        const rec = await open(durability ? { durability } : {});
        for (let i = 0; i < 3; i++) await (await rec.recognize(image(i))).stored;
        await rec.flush();
        rec.dispose();
        const writes = seen.filter((t) => t.mode === 'readwrite');
        assert.ok(writes.length >= 3, `${writes.length} commits seen`);
        assert.deepEqual([...new Set(writes.map((t) => t.durability))], [expected], `option ${durability}`);
        assert.ok(seen.filter((t) => t.mode === 'readonly').every((t) => t.durability === undefined));
      }
    } finally {
      IDBDatabase.prototype.transaction = original;
    }
    await assert.rejects(() => open({ durability: 'fast' }), (e) => e instanceof TypeError && /durability must be 'strict' or 'relaxed'/.test(e.message));
  });
});

describe('the database deleted from outside', { skip }, () => {
  test('the next call notices, says so, starts empty, and never brings the deleted records back', async () => {
    const database = 'iciia-deleted';
    const rec = await open({ database });
    const before = [];
    for (let i = 0; i < 5; i++) before.push(await (await rec.recognize(image(i))).stored);
    assert.deepEqual(before, [0, 1, 2, 3, 4]);
    // Another tab (here: the same global factory) deletes the database while the recognizer holds it open.
    await new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(database);
      request.onsuccess = resolve;
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('deleteDatabase blocked: the recognizer did not close its connection'));
    });
    assert.deepEqual(rec.warnings, []);
    const r = await rec.recognize(image(10));
    assert.equal(rec.warnings.length, 1, rec.warnings.join('\n'));
    assert.match(rec.warnings[0], /deleted outside this recognizer.*starting an empty history; 5 record\(s\) dropped/);
    assert.equal(r.attention.length, 0, 'the decision attends to none of the deleted records');
    assert.equal(r.historySize, 1);
    assert.equal(r.seq, 5, 'seqs go on after the deleted ones');
    assert.equal(await r.stored, 5);
    assert.equal(await rec.history.size(), 1);
    rec.dispose();
    // A fresh recognizer (a reload) reads the storage: the new record alone.
    const fresh = await open({ database, clientId: `storage-${clients}` });
    const probe = await fresh.recognize(image(11), { remember: false });
    assert.deepEqual(probe.attention.map((a) => a.seq), [5]);
    assert.deepEqual(fresh.warnings, []);
    fresh.dispose();
  });
});

describe('data the browser reports lost when it opens the database', { skip }, () => {
  // Chromium deletes an IndexedDB database it finds corrupt (after a crash),
  // opens an empty one and says so on the upgrade event: dataLoss 'total'.
  // fake-indexeddb never does, so the test adds it to the event, as Chromium would.
  test('is said through onWarning once, and the recognizer goes on with an empty history', async () => {
    const realOpen = indexedDB.open;
    indexedDB.open = function (name, version) {
      const request = realOpen.call(this, name, version);
      request.addEventListener('upgradeneeded', (event) => {
        Object.defineProperty(event, 'dataLoss', { value: 'total' });
        Object.defineProperty(event, 'dataLossMessage', { value: 'Corruption detected in the backing store' });
      });
      return request;
    };
    let rec;
    try {
      rec = await open({ database: 'iciia-data-loss' });
    } finally {
      indexedDB.open = realOpen;
    }
    assert.equal(rec.warnings.length, 1, rec.warnings.join('\n'));
    assert.match(rec.warnings[0], /reported losing this site's stored data .*dataLoss total: Corruption detected in the backing store/);
    const r = await rec.recognize(image(1));
    assert.equal(r.historySize, 1);
    assert.equal(await r.stored, 0);
    assert.equal(rec.warnings.length, 1, 'said once, not at every call');
    const clientId = rec.clientId;
    rec.dispose();
    // Reopened on the same client (the page's database connection stays,
    // and with it the report): not said again; another client is told.
    const reopened = await open({ database: 'iciia-data-loss', clientId });
    assert.equal(await reopened.history.size(), 1);
    assert.deepEqual(reopened.warnings, []);
    reopened.dispose();
    const neighbour = await open({ database: 'iciia-data-loss' });
    assert.equal(neighbour.warnings.length, 1, neighbour.warnings.join('\n'));
    assert.match(neighbour.warnings[0], /dataLoss total: Corruption detected in the backing store/);
    neighbour.dispose();
    // A database opened without such a report gives no warning.
    const other = await open({ database: 'iciia-no-data-loss' });
    await (await other.recognize(image(2))).stored;
    assert.deepEqual(other.warnings, []);
    other.dispose();
  });
});
