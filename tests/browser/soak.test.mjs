// A short soak (tests/bench/soak.mjs runs the long one): 1,500 remembered
// recognitions at capacity 128 in Chromium. Once the history is full the
// wasm heap does not grow, the bytes malloc'd and the JS heap (after a forced
// garbage collection) stay flat, and IndexedDB never holds more than the
// capacity (evicted records are deleted), read straight from IndexedDB.
// Latency is printed, not asserted (a timed test would fail on a loaded
// machine; the benchmark reports it).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { addTree, demoRoutes, ROOT } from '../../scripts/server.mjs';
import { printSoak, runSoak } from '../bench/soak.mjs';
import { browserMissing, ENGINE, openBrowser } from './harness.mjs';

const skip =
  ENGINE !== 'chromium'
    ? `${ENGINE}: the JS heap is measured through Chromium's DevTools protocol (HeapProfiler, Runtime.getHeapUsage); the soak runs in Chromium`
    : await browserMissing();
if (skip) console.log(`skipping the soak browser test: ${skip}`);

const COUNT = 1500;
const CAPACITY = 128;

describe('soak (Chromium)', { skip: skip ?? false, timeout: 600_000 }, () => {
  let browser = null;
  after(() => browser?.close());

  test(`${COUNT} remembered recognitions at capacity ${CAPACITY}: memory flat, stored records bounded`, async () => {
    browser = await openBrowser({ routes: addTree(demoRoutes(), join(ROOT, 'tests/browser/pages')) });
    const result = await runSoak(browser, { count: COUNT, capacity: CAPACITY, chunk: 250, warmup: 500 });
    printSoak(result, { capacity: CAPACITY });
    const s = result.summary;
    for (const c of result.checkpoints) {
      assert.ok(c.records <= CAPACITY, `after ${c.done} images: ${c.records} records stored, capacity ${CAPACITY}`);
      assert.equal(c.size, Math.min(c.done, CAPACITY), `after ${c.done} images: history size`);
      assert.equal(c.nextSeq, c.done, `after ${c.done} images: the head says ${c.nextSeq}`);
    }
    assert.equal(s.last.records, CAPACITY, 'the full window stored, no more');
    assert.equal(s.heapGrowth, 0, 'the wasm linear memory did not grow after the warm-up');
    assert.ok(s.usedGrowth <= 16 * 1024, `malloc'd bytes grew by ${s.usedGrowth} after the warm-up`);
    assert.ok(s.jsGrowth <= 1024 * 1024, `the JS heap grew by ${s.jsGrowth} bytes after the warm-up`);
    assert.deepEqual(s.warnings, []);
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.violations(), []);
  });
});
