// The site's storage from the recognizer's side, in a real browser: the
// database deleted from another tab (and, in Chromium, the site's data
// cleared through the DevTools protocol) while a recognizer has it open;
// history.usage() and history.persist() against the Storage API; the demo's
// storage line and its "Keep my history" button.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { addTree, demoRoutes, ROOT } from '../../scripts/server.mjs';
import { browserMissing, ENGINE, openBrowser, openDemo } from './harness.mjs';

const skip = await browserMissing();
if (skip) console.log(`skipping the storage browser test (${ENGINE}): ${skip}`);
if (!skip && ENGINE === 'webkit') console.log('# storage test in webkit: the usage/persist and demo cases skip (its WebDriver session opens no window after one was closed, and hangs intermittently with several open)');

const PAGE = '/tests/browser/pages/durable.html';

async function openPage(browser) {
  const page = await browser.newPage();
  await page.goto(`${browser.origin}${PAGE}`);
  await page.waitForFunction(() => window.durable, null, { timeout: 60_000 });
  return page;
}

/** Remembers `count` images on the page's recognizer, flushed; returns their seqs. */
const remember = (page, first, count) =>
  page.evaluate(async ({ first, count }) => {
    window.durable.startStream({ first, count });
    await window.durable.streamDone();
    return [...new Set(window.durable.snapshot().durable)].sort((x, y) => x - y);
  }, { first, count });

/** The page's recognizer recognizes one image, remembered; what it saw. */
const recognizeOne = (page, i) =>
  page.evaluate(async (i) => {
    const rec = window.durable.recognizer();
    const r = await rec.recognize(window.durable.image(i));
    return { seq: r.seq, stored: await r.stored, historySize: r.historySize, attention: r.attention.map((a) => a.seq), size: await rec.history.size() };
  }, i);

describe(`storage (${ENGINE})`, { skip: skip ?? false, timeout: 600_000 }, () => {
  let browser = null;
  after(() => browser?.close());

  // WebKitGTK 2.50's driver: in a clean CI run, this case's second window hung (session
  // not created in 90 s, then evaluate timed out) although it had passed before; flaky, so
  // it is checked in Chromium, Firefox and Node only (README, Browser support).
  const multiWindowFlaky = ENGINE === 'webkit' ? 'webkit: its WebDriver hangs intermittently with two windows open (seen in CI); checked in Chromium, Firefox and Node' : false;
  test('the database deleted from another tab: the next call notices, says so, starts empty, resurrects nothing', { skip: multiWindowFlaky }, async () => {
    browser = await openBrowser({ routes: addTree(demoRoutes(), join(ROOT, 'tests/browser/pages')) });
    const a = await openPage(browser);
    const b = await openPage(browser);
    await a.evaluate(() => window.durable.open({ clientId: 'deleted' }));
    const before = await remember(a, 0, 20);
    assert.equal(before.length, 20);
    const stored = await b.evaluate(() => window.durable.readStorage({ clientId: 'deleted' }));
    assert.deepEqual(stored.records.map((r) => r.key), before, 'the other tab sees the 20 records');

    // The other tab deletes the database (as a site's "clear data" code would).
    const deleted = await b.evaluate(() => new Promise((resolve) => {
      const request = indexedDB.deleteDatabase('iciia-web');
      request.onsuccess = () => resolve('deleted');
      request.onerror = () => resolve(`error ${request.error}`);
      request.onblocked = () => resolve('blocked');
    }));
    assert.equal(deleted, 'deleted', 'the recognizer steps aside (closes its connection) at once');
    assert.deepEqual((await a.evaluate(() => window.durable.snapshot())).warnings, []);

    const next = await recognizeOne(a, 100);
    const warnings = (await a.evaluate(() => window.durable.snapshot())).warnings;
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /deleted outside this recognizer.*starting an empty history; 20 record\(s\) dropped/);
    assert.deepEqual(next.attention, [], 'the next decision attends to none of the deleted records');
    assert.equal(next.historySize, 1);
    assert.equal(next.size, 1);
    assert.ok(next.seq > Math.max(...before), `seq ${next.seq} after the deleted ones`);
    const after = await b.evaluate(() => window.durable.readStorage({ clientId: 'deleted' }));
    assert.deepEqual(after.records.map((r) => r.key), [next.seq], 'storage holds the new record alone: nothing written back');

    // A reload (a fresh recognizer) agrees.
    const v = await b.evaluate(() => window.durable.verify({ clientId: 'deleted' }));
    assert.deepEqual(v.attention, [next.seq]);
    assert.deepEqual(v.warnings, []);
    await a.close();
    await b.close();
  });

  test('site data cleared by the browser (Chromium, DevTools protocol): noticed the same way', async (t) => {
    if (ENGINE !== 'chromium') {
      t.skip(`${ENGINE}: clearing site data is driven through Chromium's DevTools protocol (Storage.clearDataForOrigin); the deleteDatabase case above covers ${ENGINE}`);
      console.log(`# skipping the site-data-cleared case in ${ENGINE}: it uses Chromium's DevTools protocol`);
      return;
    }
    const a = await openPage(browser);
    await a.evaluate(() => window.durable.open({ clientId: 'cleared' }));
    const before = await remember(a, 0, 12);
    const cdp = await browser.context.newCDPSession(a);
    await cdp.send('Storage.clearDataForOrigin', { origin: browser.origin, storageTypes: 'indexeddb' });
    await cdp.detach();
    const next = await recognizeOne(a, 200);
    const warnings = (await a.evaluate(() => window.durable.snapshot())).warnings;
    assert.ok(warnings.some((w) => /deleted outside this recognizer.*12 record\(s\) dropped/.test(w)), warnings.join('\n'));
    assert.deepEqual(next.attention, []);
    assert.equal(next.size, 1);
    assert.ok(next.seq > Math.max(...before));
    const stored = await a.evaluate(() => window.durable.readStorage({ clientId: 'cleared' }));
    assert.deepEqual(stored.records.map((r) => r.key), [next.seq]);
    await a.close();
  });

  // WebKit: the harness's WebDriver session cannot open a window after one of
  // its windows was closed ("no such window"), which the first test does.
  const webkitReason = 'webkit: its WebDriver session opens no new window once one was closed and hangs intermittently with several open (both seen here); usage()/persist() are checked in Chromium, Firefox and Node';

  test('history.usage() and persist() report what the Storage API does', { skip: ENGINE === 'webkit' ? webkitReason : false }, async () => {
    const page = await openPage(browser);
    await page.evaluate(() => window.durable.open({ clientId: 'usage' }));
    await remember(page, 0, 30);
    const got = await page.evaluate(async () => {
      const rec = window.durable.recognizer();
      const usage = await rec.history.usage();
      const estimate = await navigator.storage.estimate();
      const persistedBefore = await navigator.storage.persisted();
      const granted = await rec.history.persist();
      const after = await rec.history.usage();
      return { usage, estimate: { usage: estimate.usage, quota: estimate.quota }, persistedBefore, granted, after, persistedNow: await navigator.storage.persisted() };
    });
    assert.equal(got.usage.quota, got.estimate.quota, "the browser's quota");
    assert.ok(got.usage.usage > 30 * 600, `usage ${got.usage.usage} counts at least the 30 stored records`);
    assert.ok(Math.abs(got.usage.usage - got.estimate.usage) <= 64 * 1024, `usage ${got.usage.usage} vs the estimate ${got.estimate.usage}`);
    assert.equal(got.usage.persisted, got.persistedBefore);
    assert.equal(typeof got.granted, 'boolean');
    assert.equal(got.granted, got.persistedNow, 'persist() resolves to whether the storage is persistent now');
    assert.equal(got.after.persisted, got.persistedNow);
    if (ENGINE === 'firefox') assert.equal(got.granted, true, 'Firefox grants it (the prompt answered yes by the harness)');
    console.log(`# ${ENGINE}: usage ${got.usage.usage} of ${got.usage.quota} bytes; persist() → ${got.granted}`);
    await page.close();
  });

  test("the demo shows the storage line and asks for persistence on a click", { skip: ENGINE === 'webkit' ? webkitReason : false }, async () => {
    const { page } = await openDemo(browser);
    await page.waitForFunction(() => /of .* used by this site/.test(document.getElementById('storage-usage').textContent), null, { timeout: 30_000 });
    const line = await page.locator('#storage-usage').textContent();
    assert.match(line, /^\d+(\.\d)? [kM]B of \d+(\.\d)? [kM]B used by this site; /);
    await page.evaluate(() => document.getElementById('persist-storage').click());
    await page.waitForFunction(() => {
      const t = document.getElementById('storage-usage').textContent;
      return (/kept: the browser will not evict it/.test(t) || document.getElementById('error').textContent.includes('declined'));
    }, null, { timeout: 30_000 });
    const persisted = await page.evaluate(() => navigator.storage.persisted());
    const after = await page.locator('#storage-usage').textContent();
    if (persisted) assert.match(after, /kept: the browser will not evict it/);
    else assert.match(await page.locator('#error').textContent(), /declined to keep this site's data/);
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.violations(), []);
  });
});
