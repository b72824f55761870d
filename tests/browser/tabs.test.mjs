// Two tabs of the demo (two pages of one persistent context) on one client
// id, appending in turn and at the same time: no record lost, none doubled,
// and both tabs end up seeing the same history. Then four tabs and a module
// worker (tests/browser/pages/durable.html) appending concurrently.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { addTree, demoRoutes, ROOT } from '../../scripts/server.mjs';
import { browserMissing, ENGINE, openBrowser, openDemo } from './harness.mjs';

const skip = await browserMissing();
if (skip) console.log(`skipping the two-tab browser test: ${skip}`);
// WebKitGTK's driver hung intermittently with a second window open, in two
// clean CI runs (once with four tabs, once with two): the multi-window cases
// run in Chromium and Firefox; WebKit's single-page cases still run.
const WEBKIT_WINDOWS = 'webkit: its WebDriver (WebKitWebDriver) hangs intermittently with several windows open (seen in CI); the multi-tab cases run in Chromium and Firefox';
const twoTabsSkip = skip ?? (ENGINE === 'webkit' ? WEBKIT_WINDOWS : false);
if (!skip && twoTabsSkip) console.log(`skipping the multi-tab browser tests: ${twoTabsSkip}`);

const CLIENT = 'two-tabs';

describe('two tabs on one client', { skip: twoTabsSkip, timeout: 600_000 }, () => {
  let browser = null;
  after(() => browser?.close());

  test('interleaved appends from two tabs: every record present exactly once, in both', async () => {
    browser = await openBrowser({ routes: demoRoutes() });
    const tabs = [];
    for (let i = 0; i < 2; i++) {
      const { page } = await openDemo(browser);
      // shiftLevel 0: ICIIA answers every image, so a decision's attention lists the records the tab holds.
      assert.equal(await page.evaluate((c) => window.iciiaDemo.switchClient(c, { shiftLevel: 0 }), CLIENT), CLIENT);
      tabs.push(page);
    }
    const [a, b] = tabs;
    const recognize = (page, index, remember = true) =>
      page.evaluate((o) => window.iciiaDemo.recognizeSample(o), { index, remember });

    const seqs = [];
    for (let i = 0; i < 10; i++) {
      seqs.push((await recognize(a, i)).seq, (await recognize(b, 10 + i)).seq);
    }
    for (let i = 0; i < 5; i++) {
      const both = await Promise.all([recognize(a, 20 + i), recognize(b, 25 + i)]);
      seqs.push(...both.map((r) => r.seq));
    }
    assert.equal(new Set(seqs).size, seqs.length, `record ids handed out twice: ${seqs}`);

    const expected = [...seqs].sort((x, y) => x - y);
    for (const [name, page] of [['first', a], ['second', b]]) {
      assert.equal(await page.evaluate(() => window.iciiaDemo.historySize()), seqs.length, `${name} tab's history size`);
      const probe = await recognize(page, 40, false);
      assert.deepEqual(probe.attention.map((x) => x.seq), expected, `${name} tab attends to every record once, oldest first`);
    }
    const [ea, eb] = await Promise.all([a, b].map((p) => p.evaluate(() => window.iciiaDemo.exportHistory())));
    assert.deepEqual(ea, eb, 'both tabs export the same history');
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.violations(), []);
  });
});

// WebKitGTK 2.50's driver hung intermittently with five writers open (seen in a clean CI
// run after passing before): the two-tab case above still runs there.
const fiveWritersSkip = twoTabsSkip;
describe('four tabs and a worker on one client', { skip: fiveWritersSkip, timeout: 600_000 }, () => {
  let browser = null;
  after(() => browser?.close());

  test('appending concurrently for a bounded time: no seq twice, nothing lost, the same history and export everywhere', async () => {
    browser = await openBrowser({ routes: addTree(demoRoutes(), join(ROOT, 'tests/browser/pages')) });
    const clientId = 'five-writers';
    const capacity = 1024;
    const perWriter = 50;
    const pages = [];
    for (let i = 0; i < 4; i++) {
      const page = await browser.newPage();
      await page.goto(`${browser.origin}/tests/browser/pages/durable.html`);
      await page.waitForFunction(() => window.durable, null, { timeout: 60_000 });
      await page.evaluate((o) => window.durable.open(o), { clientId, capacity });
      pages.push(page);
    }
    // The worker runs from the first tab, on the same client.
    await pages[0].evaluate((o) => window.durable.startWorker(o), { clientId, capacity, stream: { first: 40_000, count: perWriter, flushEvery: 5 } });
    const t0 = Date.now();
    await Promise.all(pages.map((p, i) => p.evaluate((o) => window.durable.startStream(o), { first: i * 10_000, count: perWriter, flushEvery: 5, reset: i !== 0 })));
    // Bounded: every stream ends after perWriter images; a stuck one fails here.
    await Promise.race([
      Promise.all([...pages.map((p) => p.evaluate(() => window.durable.streamDone())), pages[0].evaluate(() => window.durable.workerStreamDone())]),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the writers did not finish within 120 s')), 120_000)),
    ]);
    const seconds = (Date.now() - t0) / 1000;
    const known = await Promise.all(pages.map((p) => p.evaluate(() => window.durable.snapshot())));
    // The first tab's snapshot holds its own stream's seqs; the worker's come through its messages into the same lists.
    const all = known.flatMap((k) => k.staged);
    assert.equal(all.length, 5 * perWriter, 'every writer staged its images');
    assert.equal(new Set(all).size, all.length, 'no seq handed out twice');
    for (const k of known) {
      assert.deepEqual(k.failed, [], 'no commit failed');
      assert.deepEqual(k.warnings, []);
    }
    const expected = [...all].sort((a, b) => a - b);
    const exports = await Promise.all(pages.map((p) => p.evaluate(() => window.durable.pageExport())));
    exports.push(await pages[0].evaluate(() => window.durable.workerExport()));
    for (const [i, e] of exports.entries()) {
      const who = i < 4 ? `tab ${i}` : 'the worker';
      assert.equal(e.size, all.length, `${who}: history size`);
      assert.deepEqual(e.bytes, exports[0].bytes, `${who} exports the same bytes as tab 0`);
    }
    const stored = await pages[1].evaluate((c) => window.durable.readStorage({ clientId: c }), clientId);
    assert.deepEqual(stored.records.map((r) => r.key), expected, 'IndexedDB holds every record once');
    assert.ok(stored.records.every((r) => r.error === undefined), 'none torn');
    console.log(`# 4 tabs + 1 worker: ${all.length} records in ${seconds.toFixed(1)} s, one history everywhere`);
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.violations(), []);
  });
});
