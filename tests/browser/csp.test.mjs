// What Content-Security-Policy the demo needs. The finding (README, "Demo"):
// 'wasm-unsafe-eval' is needed in script-src (Chromium refuses to compile
// WebAssembly without it), 'unsafe-eval' and 'unsafe-inline' are not (the glue
// is built with -sDYNAMIC_EXECUTION=0; the page has no inline script or style).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { DEMO_CSP, demoRoutes } from '../../scripts/server.mjs';
import { browserMissing, ENGINE, openBrowser, openDemo } from './harness.mjs';

const skip = await browserMissing();
if (skip) console.log(`skipping the CSP browser tests: ${skip}`);

// Records every CSP violation the page reports, before any of its scripts run.
const recordViolations = () => {
  window.cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline/eval)'}`));
};

describe('Content-Security-Policy', { skip: skip ?? false, timeout: 600_000 }, () => {
  let browser = null;
  after(() => browser?.close());

  test('the demo works under the strict policy, which allows no eval and no inline code', async () => {
    for (const word of ["'unsafe-eval'", "'unsafe-inline'", 'blob:', 'data:', '*']) assert.ok(!DEMO_CSP.includes(word), word);
    browser = await openBrowser({ routes: demoRoutes(), csp: DEMO_CSP });
    const page = await browser.newPage();
    await page.addInitScript(recordViolations);
    const { response } = await openDemo(browser, { page });
    assert.equal(response.headers()['content-security-policy'], DEMO_CSP);
    const r = await page.evaluate(() => window.iciiaDemo.playStream({ count: 6, seed: 1, fast: true }));
    assert.equal(r.n, 6);
    assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
    assert.deepEqual(browser.errors, []);
    await browser.close();
    browser = null;
  });

  test("without 'wasm-unsafe-eval' the WebAssembly core cannot be compiled, and the page says so", async (t) => {
    const csp = DEMO_CSP.replace(" 'wasm-unsafe-eval'", '');
    assert.notEqual(csp, DEMO_CSP);
    browser = await openBrowser({ routes: demoRoutes(), csp, log: () => {} });
    const page = await browser.newPage();
    await page.addInitScript(recordViolations);
    await assert.rejects(openDemo(browser, { page }), (e) => {
      t.diagnostic(`without 'wasm-unsafe-eval': ${e.message.split('\n')[0]}`);
      return /WebAssembly|wasm|Content Security Policy/i.test(e.message);
    });
    const shown = await page.locator('#error').textContent();
    assert.match(shown, /failed/);
    const violations = await page.evaluate(() => window.cspViolations);
    if (ENGINE === 'webkit') {
      // WebKitGTK 2.50 reports no securitypolicyviolation event for the
      // refused compile (README, "Browser support"); what it does give is
      // the package's typed error, carrying the engine's CSP message.
      assert.deepEqual(violations, []);
      assert.match(shown, /iciia-web: cannot instantiate the WebAssembly core .*Content Security Policy/);
    } else {
      assert.ok(violations.some((v) => v.startsWith('script-src')));
    }
    await browser.close();
    browser = null;
  });
});
