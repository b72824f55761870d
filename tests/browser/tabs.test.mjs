// Two tabs of the demo (two pages of one persistent context) on one client
// id, appending in turn and at the same time: no record lost, none doubled,
// and both tabs end up seeing the same history.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { demoRoutes } from '../../scripts/server.mjs';
import { browserMissing, openBrowser, openDemo } from './harness.mjs';

const skip = await browserMissing();
if (skip) console.log(`skipping the two-tab browser test: ${skip}`);

const CLIENT = 'two-tabs';

describe('two tabs on one client', { skip: skip ?? false, timeout: 600_000 }, () => {
  let browser = null;
  after(() => browser?.close());

  test('interleaved appends from two tabs: every record present exactly once, in both', async () => {
    browser = await openBrowser({ routes: demoRoutes() });
    const tabs = [];
    for (let i = 0; i < 2; i++) {
      const { page } = await openDemo(browser);
      assert.equal(await page.evaluate((c) => window.iciiaDemo.switchClient(c), CLIENT), CLIENT);
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
