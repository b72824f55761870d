// The package inside a module Web Worker (tests/browser/pages/worker.html):
// createRecognizer and recognize run there, results come back by
// postMessage, and they equal what the page's own thread computes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { addTree, demoRoutes, ROOT } from '../../scripts/server.mjs';
import { browserMissing, ENGINE, openBrowser } from './harness.mjs';

const skip = await browserMissing();
if (skip) console.log(`skipping the worker browser test: ${skip}`);

const COUNT = 12;

describe('module Web Worker', { skip: skip ?? false, timeout: 600_000 }, () => {
  let browser = null;
  after(() => browser?.close());

  test('createRecognizer and recognize work in a module worker, as on the page', async () => {
    const routes = addTree(demoRoutes(), join(ROOT, 'tests/browser/pages'));
    browser = await openBrowser({ routes });
    const page = await browser.newPage();
    await page.goto(`${browser.origin}/tests/browser/pages/worker.html`);
    await page.waitForFunction(() => window.runWorker && window.runPage, null, { timeout: 60_000 });

    const inWorker = await page.evaluate((o) => window.runWorker(o), { clientId: 'worker', count: COUNT });
    assert.equal(inWorker.inWorker, true);
    // Threads in a worker of an isolated page: Chromium runs the threads
    // build; Firefox one thread (its nested Worker constructor can block for
    // good, web/src/platform_browser.ts), WebKitGTK one (no SharedArrayBuffer).
    const expected = ENGINE === 'chromium' ? 2 : 1;
    console.log(`# ${ENGINE} worker: ${inWorker.threads} thread(s) by default, ${inWorker.askedThreads} when 2 are asked; ${JSON.stringify(inWorker.askedWarnings)}`);
    assert.equal(inWorker.threads, expected);
    assert.deepEqual(inWorker.warnings, [], 'no warning by default');
    assert.equal(inWorker.askedThreads, expected);
    if (expected === 1) {
      assert.equal(inWorker.askedWarnings.length, 1, 'an explicit request that cannot be met says why');
      assert.match(inWorker.askedWarnings[0], ENGINE === 'firefox' ? /^threads: 2 asked, running on one thread: Firefox/ : /^threads: 2 asked, running on one thread: /);
    } else assert.deepEqual(inWorker.askedWarnings, []);
    assert.ok(inWorker.labels.length > 1);
    assert.equal(inWorker.results.length, COUNT);
    assert.equal(inWorker.size, COUNT);
    inWorker.results.forEach((r, i) => {
      assert.equal(r.top.length, 3);
      assert.equal(r.baseline.length, 3);
      for (const list of [r.top, r.baseline]) {
        list.forEach((e, k) => {
          assert.equal(e.label, inWorker.labels[e.index]);
          assert.ok(e.score >= 0 && e.score <= 1);
          if (k) assert.ok(e.score <= list[k - 1].score, 'sorted by score');
        });
      }
      assert.equal(r.attention, i, 'attends over the history before the image');
      assert.equal(r.historySize, i + 1);
    });

    const onPage = await page.evaluate((o) => window.runPage(o), { clientId: 'page', count: COUNT });
    assert.equal(onPage.inWorker, false);
    onPage.results.forEach((r, i) => {
      const w = inWorker.results[i];
      for (const key of ['top', 'baseline']) {
        assert.deepEqual(r[key].map((e) => e.index), w[key].map((e) => e.index), `image ${i} ${key}`);
        r[key].forEach((e, k) => assert.ok(Math.abs(e.score - w[key][k].score) <= 1e-6, `image ${i} ${key} score`));
      }
    });
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.violations(), []);
  });
});
