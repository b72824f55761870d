// The demo page (examples/demo/) in headless Chromium, served as
// ./scripts/main.sh serves it: the loopback allow-list server under the
// strict CSP of scripts/server.mjs, the bundled Fashion-MNIST model.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DEMO_CSP, demoRoutes, ROOT } from '../../scripts/server.mjs';
import { browserMissing, ENGINE, openBrowser, openDemo } from './harness.mjs';

const skip = await browserMissing();
if (skip) console.log(`skipping the demo's browser tests: ${skip}`);

// 3 classes x 40 images, always the same ones: the stream is seeded.
const STREAM = { classes: 3, count: 120, seed: 20240611, fast: true };
const ARTIFACT = join(ROOT, 'build/artifacts/demo.png');
const MANIFEST = join(ROOT, 'models/fashion-mnist/manifest.json');

/** The adaptation radio button that is checked. */
const checkedAdaptation = (page) => page.evaluate(() => document.querySelector('#adaptation input:checked')?.value ?? null);
/** Clicks an adaptation radio button as the user does (a click, which fires its change event). */
const clickAdaptation = (page, mode) =>
  page.evaluate((m) => document.querySelector(`#adaptation input[value=${m}]`).click(), mode);

describe('demo page', { skip: skip ?? false, timeout: 600_000 }, () => {
  let browser, routes, page, info, stream;

  before(async () => {
    assert.ok(existsSync(MANIFEST), 'models/fashion-mnist/ holds no bundle');
    routes = demoRoutes();
    browser = await openBrowser({ routes });
    let response;
    ({ page, info, response } = await openDemo(browser));
    assert.equal(response.headers()['content-security-policy'], DEMO_CSP);
  });
  after(() => browser?.close());

  test('loads the model and its samples with no console errors and no page errors', async () => {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    assert.deepEqual(info.labels, manifest.labels);
    assert.equal(info.samples, JSON.parse(readFileSync(join(MANIFEST, '..', manifest.samples), 'utf8')).length);
    assert.equal(info.historySize, 0);
    assert.equal(info.adaptation, manifest.adaptation?.default ?? 'iciia');
    assert.deepEqual(info.adaptations, ['iciia', 'prior', 'none']);
    // The test server sends COOP/COEP: every engine that then offers shared
    // memory runs the threads build on its cores (at most 4); WebKitGTK's
    // MiniBrowser is isolated but has no SharedArrayBuffer, so one thread.
    const possible = info.isolated && info.sharedMemory;
    console.log(`# ${ENGINE} demo: cross-origin isolated ${info.isolated}, SharedArrayBuffer ${info.sharedMemory}, ` +
      `${info.threads} thread(s) on ${info.cores} cores`);
    assert.equal(info.threads, possible ? Math.min(info.cores, 4) : 1);
    if (ENGINE !== 'webkit') assert.ok(possible, `${ENGINE} offers threads to an isolated page`);
    assert.equal(await checkedAdaptation(page), info.adaptation);
    assert.equal(await page.locator('#app').isVisible(), true);
    assert.equal(await page.locator('#error').isVisible(), false);
    assert.deepEqual(browser.errors, []);
  });

  test('a client stream: the adapted accuracy ends above the backbone\'s', async (t) => {
    stream = await page.evaluate((o) => window.iciiaDemo.playStream(o), STREAM);
    t.diagnostic(`${stream.n} images of classes ${stream.classes} (seed ${stream.seed}): ` +
      `backbone ${(100 * stream.baselineAccuracy).toFixed(1)}%, adapted ${(100 * stream.adaptedAccuracy).toFixed(1)}%`);
    assert.equal(stream.n, STREAM.count);
    assert.equal(stream.classes.length, STREAM.classes);
    const capacity = (await page.evaluate(() => document.getElementById('history-capacity').textContent)) | 0;
    // The shift gate holds until the history shows the client's 3 classes,
    // then ICIIA answers every image of the stream.
    const opened = stream.steps.findIndex((s) => s.adaptation === 'iciia');
    t.diagnostic(`the shift gate opened at image ${opened}`);
    assert.ok(opened >= 1 && opened <= 16, `the gate opened at image ${opened}`);
    stream.steps.forEach((s, i) => {
      assert.ok(stream.classes.includes(s.label));
      assert.ok(s.shift && s.shift.threshold > 0, `step ${i}: the shift test ran`);
      if (i < opened) {
        assert.equal(s.adaptation, 'none');
        assert.ok(s.shift.statistic <= s.shift.threshold);
        assert.equal(s.adapted, s.baseline);
        assert.equal(s.attention, 0);
      } else {
        assert.equal(s.adaptation, 'iciia', `step ${i}`);
        assert.ok(s.shift.statistic > s.shift.threshold);
        assert.equal(s.attention, Math.min(i, capacity), `step ${i}: attention over the history before it`);
      }
      assert.equal(s.historySize, Math.min(i + 1, capacity));
      if (i) assert.ok(s.seq > stream.steps[i - 1].seq, 'record ids increase');
    });
    assert.ok(stream.adaptedAccuracy > stream.baselineAccuracy,
      `adapted ${stream.adaptedAccuracy} should beat the backbone's ${stream.baselineAccuracy}`);
    assert.equal(await page.locator('#acc-adapted-text').textContent(), `${(100 * stream.adaptedAccuracy).toFixed(1)}%`);
    assert.deepEqual(browser.errors, []);
  });

  test('a screenshot of the demo after the stream (build/artifacts/demo.png)', async (t) => {
    mkdirSync(join(ROOT, 'build/artifacts'), { recursive: true });
    await page.screenshot({ path: ARTIFACT, fullPage: true });
    assert.ok(existsSync(ARTIFACT));
    t.diagnostic(`screenshot: ${ARTIFACT}`);
    console.log(`screenshot of the demo: ${ARTIFACT}`);
  });

  test('the page shows which adaptation runs, and the user switches it', async () => {
    const size = await page.evaluate(() => window.iciiaDemo.historySize());
    const sample = (o) => page.evaluate((x) => window.iciiaDemo.recognizeSample(x), o);
    const iciia = await sample({ index: 3, remember: false });
    assert.equal(iciia.adaptation, 'iciia');
    assert.equal(await page.locator('#adapted-how').textContent(), 'ICIIA over your history');
    assert.equal(await page.locator('#attention-card').isVisible(), true);
    assert.equal(await page.locator('#prior-card').isVisible(), false);

    await clickAdaptation(page, 'prior');
    const prior = await sample({ index: 3, remember: false });
    assert.equal(prior.adaptation, 'prior');
    assert.equal(prior.attention.length, 0);
    assert.equal(prior.classPrior.length, info.labels.length);
    assert.ok(Math.abs(prior.classPrior.reduce((a, v) => a + v, 0) - 1) < 1e-4, 'the estimated class frequencies sum to 1');
    const streamed = new Set(stream.classes);
    const top3 = prior.classPrior.map((q, i) => [q, i]).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, i]) => i);
    assert.ok(top3.every((i) => streamed.has(i)), `the three most frequent classes estimated (${top3}) are the stream's (${stream.classes})`);
    assert.equal(await page.locator('#adapted-how').textContent(), 'prior correction over your history');
    assert.equal(await page.locator('#prior-card').isVisible(), true);
    assert.equal(await page.locator('#attention-card').isVisible(), false);
    assert.equal(await page.locator('#class-prior li').count(), info.labels.length);
    assert.match(await page.locator('#timings').textContent(), / prior \d/);

    await clickAdaptation(page, 'none');
    const none = await sample({ index: 3, remember: false });
    assert.equal(none.adaptation, 'none');
    assert.equal(none.adapted, none.baseline);
    assert.equal(await page.locator('#adapted-how').textContent(), 'none: the backbone alone');

    assert.equal(await page.evaluate(() => window.iciiaDemo.setAdaptation('iciia')), 'iciia');
    assert.equal(await checkedAdaptation(page), 'iciia');
    const back = await sample({ index: 3, remember: false });
    assert.equal(back.adaptation, 'iciia');
    assert.equal(back.attention.length, size);
    assert.equal(back.adapted, iciia.adapted);
    assert.deepEqual(browser.errors, []);
  });

  test('the user turns the shift gate off and on: ICIIA then answers from the first image, or only once the history shows a shift', async () => {
    const size = await page.evaluate(() => window.iciiaDemo.historySize());
    const sample = (o) => page.evaluate((x) => window.iciiaDemo.recognizeSample(x), o);
    assert.equal(await page.evaluate(() => document.getElementById('shift-gate').checked), true, 'on by default');
    const gated = await sample({ index: 5, remember: false });
    assert.ok(gated.shift && gated.shift.threshold > 0, 'the test ran');

    await page.evaluate(() => document.getElementById('shift-gate').click());
    const off = await sample({ index: 5, remember: false });
    assert.equal(off.shift, null, 'no test with the gate off');
    assert.equal(off.adaptation, 'iciia');
    assert.equal(off.attention.length, size, 'the same client and history after the reopen');
    assert.equal(await page.evaluate(() => document.getElementById('shift-gate').checked), false);

    assert.equal(await page.evaluate(() => window.iciiaDemo.setShiftGate(true)), 0.99);
    assert.equal(await page.evaluate(() => document.getElementById('shift-gate').checked), true);
    const on = await sample({ index: 5, remember: false });
    // A reopened recognizer starts EM afresh (16 steps), the first one had a warm start: G agrees closely.
    assert.equal(on.shift.threshold, gated.shift.threshold);
    assert.ok(Math.abs(on.shift.statistic - gated.shift.statistic) < 0.01 * gated.shift.statistic, `${on.shift.statistic} vs ${gated.shift.statistic}`);
    assert.equal(on.adaptation, gated.adaptation);
    assert.equal(on.adapted, gated.adapted);
    assert.deepEqual(browser.errors, []);
  });

  test('after a reload the history is still there and the next decision attends to it', async () => {
    await page.evaluate(() => window.iciiaDemo.flush()); // what a reload finds is what is durable
    const before = await page.evaluate(() => window.iciiaDemo.historySize());
    assert.ok(before > 0);
    ({ info } = await openDemo(browser, { page, reload: true }));
    assert.equal(info.historySize, before);
    const r = await page.evaluate(() => window.iciiaDemo.recognizeSample({ index: 0 }));
    assert.equal(r.attention.length, before, 'the first image after the reload attends to the stored history');
    const known = new Set(stream.steps.map((s) => s.seq));
    assert.ok(r.attention.every((a) => known.has(a.seq)), 'over the records the stream stored');
    assert.deepEqual(browser.errors, []);
  });

  test('a corrupt stored record is skipped with a note on the page, and the others stay', async () => {
    await page.evaluate(() => window.iciiaDemo.flush());
    const size = await page.evaluate(() => window.iciiaDemo.historySize());
    const victim = stream.steps.at(-1).seq;
    // One flipped byte (of the stored logits) in IndexedDB (records: key [clientId, seq], value the record's bytes).
    await page.evaluate(async ({ client, seq }) => {
      const done = (req) => new Promise((resolve, reject) => {
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const db = await done(indexedDB.open('iciia-web'));
      const tx = db.transaction('records', 'readwrite');
      const bytes = new Uint8Array(await done(tx.objectStore('records').get([client, seq])));
      bytes[bytes.length - 12] ^= 0x40;
      await done(tx.objectStore('records').put(bytes, [client, seq]));
      db.close();
    }, { client: info.clientId, seq: victim });

    ({ info } = await openDemo(browser, { page, reload: true }));
    assert.equal(info.historySize, size - 1);
    assert.equal(await page.locator('#warning').isVisible(), true);
    const r = await page.evaluate(() => window.iciiaDemo.recognizeSample({ index: 2, remember: false }));
    assert.equal(r.attention.length, size - 1);
    assert.ok(!r.attention.some((a) => a.seq === victim), 'the corrupt record is not attended to');
    assert.deepEqual(browser.errors, []);
  });

  test('a picked colour image of another size is recognized and remembered; a file that is no image is refused', async () => {
    const window0 = (await page.evaluate(() => window.iciiaDemo.recognizeSample({ index: 5, remember: false }))).attention.map((a) => a.seq);
    const photo = await page.screenshot({ clip: { x: 0, y: 0, width: 300, height: 170 } }); // colour PNG, 300x170
    await page.setInputFiles('#pick-images', { name: 'photo.png', mimeType: 'image/png', buffer: photo });
    await page.waitForFunction(() => document.getElementById('truth').textContent.includes('photo.png'));
    const capacity = Number(await page.locator('#history-capacity').textContent());
    // Remembered: the newest record now, in a window of `capacity` seqs
    // (the corrupt record skipped above is a gap in it).
    const window1 = (await page.evaluate(() => window.iciiaDemo.recognizeSample({ index: 5, remember: false }))).attention.map((a) => a.seq);
    const newest = window1.at(-1);
    assert.ok(newest > window0.at(-1), 'the picked image is the newest record');
    assert.deepEqual(window1, [...window0.filter((s) => s > newest - capacity), newest]);
    assert.equal(await page.evaluate(() => window.iciiaDemo.historySize()), window1.length);
    assert.equal(await page.locator('#adapted li').count(), 3);
    assert.equal(await page.locator('#error').isVisible(), false);

    await page.setInputFiles('#pick-images', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await page.waitForFunction(() => !document.getElementById('error').hidden);
    assert.match(await page.locator('#error').textContent(), /notes\.txt/);
    assert.deepEqual(browser.errors, []);
  });

  test('export, clear and import restore the history; another client id has its own', async () => {
    const demo = (fn, arg) => page.evaluate(fn, arg);
    const size = await demo(() => window.iciiaDemo.historySize());
    const exported = await demo(() => window.iciiaDemo.exportHistory());
    assert.ok(exported.length > 0);
    assert.equal(await demo(() => window.iciiaDemo.clearHistory()), 0);
    assert.equal(await demo((b) => window.iciiaDemo.importHistory(b), exported), size);

    assert.equal(await demo(() => window.iciiaDemo.switchClient('someone-else')), 'someone-else');
    assert.equal(await demo(() => window.iciiaDemo.historySize()), 0);
    const first = await demo(() => window.iciiaDemo.recognizeSample({ index: 1 }));
    assert.equal(first.attention.length, 0, 'a new client starts with no history');
    await demo(() => window.iciiaDemo.switchClient('demo-user'));
    assert.equal(await demo(() => window.iciiaDemo.historySize()), size);
    assert.deepEqual(browser.errors, []);
  });

  test('every request was a same-origin GET of a served file, with no body: no pixels or features left the page', () => {
    assert.deepEqual(browser.violations(), []);
    assert.ok(browser.requests.length > info.samples);
    for (const r of browser.requests) {
      const u = new URL(r.url);
      assert.equal(r.method, 'GET', r.url);
      assert.equal(r.hasBody, false, r.url);
      assert.equal(u.origin, browser.origin, r.url);
      assert.equal(u.search + u.hash, '', r.url);
      assert.ok(routes.has(u.pathname) || u.pathname === '/', `${r.url} is not a served file`);
    }
  });
});
