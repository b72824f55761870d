// The demo's offline copy (examples/demo/sw.js): once the page has loaded
// with service workers allowed, it reloads and plays a stream with the
// server gone.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { demoRoutes } from '../../scripts/server.mjs';
import { browserMissing, openBrowser, openDemo } from './harness.mjs';

const skip = await browserMissing();
if (skip) console.log(`skipping the offline browser test: ${skip}`);

describe('offline', { skip: skip ?? false, timeout: 600_000 }, () => {
  let browser = null;
  after(() => browser?.close());

  test('after one visit the demo works with the server stopped', async () => {
    browser = await openBrowser({ routes: demoRoutes(), serviceWorkers: 'allow' });
    const { page, info } = await openDemo(browser);
    const kept = await page.evaluate(() => window.iciiaDemo.offline());
    assert.ok(kept > info.samples, `the service worker keeps only ${kept} files`);
    const online = await page.evaluate(() => window.iciiaDemo.playStream({ count: 5, seed: 3, fast: true }));

    await browser.stopServer();
    const again = await openDemo(browser, { page, reload: true });
    assert.equal(again.info.samples, info.samples);
    assert.equal(again.info.historySize, online.steps.at(-1).historySize);
    const offline = await page.evaluate(() => window.iciiaDemo.playStream({ count: 5, seed: 4, fast: true }));
    assert.equal(offline.n, 5);
    // The first image offline is decided over the history kept online (attended to when ICIIA answers).
    assert.equal(offline.steps[0].historySize, online.steps.at(-1).historySize + 1);
    assert.ok(offline.steps[0].shift, 'the shift gate ran');
    assert.equal(offline.steps[0].attention, offline.steps[0].adaptation === 'iciia' ? online.steps.at(-1).historySize : 0);
    assert.deepEqual(browser.errors, []);
  });
});
