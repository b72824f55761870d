// Nothing durable is lost when the browser dies (issue 13). A remembered
// stream runs on the page; at a random point (fixed seed) the browser's
// process group is killed with SIGKILL (no unload, no close), and the browser
// is started again on the same profile and origin. After each restart a
// fresh recognizer opens the history and an independent reader
// (pages/idb_reader.mjs) reads IndexedDB, and the test checks: every record
// whose `stored` resolved (or a flush() returned after it) before the kill
// is there; only records in flight are missing; none is
// torn or doubled; seqs strictly increase across restarts; and a fresh
// recognizer's size, export bytes and next decision agree with the stored
// records. The same for a tab closed during a commit and for a module worker
// terminated mid-write (those in one browser, no restart).
//
// One exception, printed and allowed twice per run: Chromium 156 sometimes
// finds its LevelDB corrupt after a kill ("checksum mismatch") and deletes
// the origin's whole database, which the recognizer then reports through
// onWarning (Chromium's dataLoss); see README, "Durability". A third case
// makes that wipe happen on purpose (a byte flipped in the LevelDB log) and
// checks what the package says and that a new history works.
//
// ICIIA_CRASH_ROUNDS sets the number of kills (default 20), ICIIA_CRASH_SEED
// the seed of the kill points (default 13).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { addTree, demoRoutes, ROOT } from '../../scripts/server.mjs';
import { checkRestart, newBook, prng, recordKnown } from './durability_checks.mjs';
import { browserMissing, ENGINE, openBrowser } from './harness.mjs';

const skip =
  ENGINE === 'webkit'
    ? "webkit: its driver (WebKitWebDriver) gives neither a profile to restart on nor the browser's process to kill; the crash test runs in Chromium and Firefox"
    : await browserMissing();
if (skip) console.log(`skipping the crash-consistency browser test (${ENGINE}): ${skip}`);

const ROUNDS = Number(process.env.ICIIA_CRASH_ROUNDS ?? 20);
const SEED = Number(process.env.ICIIA_CRASH_SEED ?? 13);
const CAPACITY = 48;
const PAGE = '/tests/browser/pages/durable.html';
const routes = () => addTree(demoRoutes(), join(ROOT, 'tests/browser/pages'));

async function freePort() {
  const srv = createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function openPage(browser) {
  const page = await browser.newPage();
  await page.goto(`${browser.origin}${PAGE}`);
  await page.waitForFunction(() => window.durable, null, { timeout: 60_000 });
  return page;
}

/** SIGKILL to the browser's process group (all of it at once, as a crash), then waits until it is gone. */
async function killBrowser(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  process.kill(pgid === pid ? -pid : pid, 'SIGKILL');
  for (let i = 0; i < 200; i++) {
    const gone = !existsSync(`/proc/${pid}`) || /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    if (gone) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`browser process ${pid} still alive 5 s after SIGKILL`);
}

/** Files under `dir` with their sizes (what a failure report shows of the browser's storage). */
function listing(dir) {
  if (!existsSync(dir)) return `${dir}: absent`;
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${p.slice(dir.length + 1)} ${statSync(p).size}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

/** Where each engine keeps the origin's IndexedDB in a profile. */
const idbDir = (profile) => (ENGINE === 'chromium' ? join(profile, 'Default', 'IndexedDB') : join(profile, 'storage', 'default'));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const closeQuietly = (browser) => Promise.race([browser.close().catch(() => {}), sleep(15_000)]);

describe(`crash consistency (${ENGINE})`, { skip: skip ?? false, timeout: 1_800_000 }, () => {
  let profile = null;
  let browser = null;
  after(async () => {
    if (browser) await closeQuietly(browser);
    if (profile && process.env.ICIIA_CRASH_KEEP_PROFILE) console.log(`# profile kept: ${profile}`);
    else if (profile) await rm(profile, { recursive: true, force: true });
    if (profile) await rm(`${profile}-before`, { recursive: true, force: true });
  });

  test(`the browser killed (SIGKILL) ${ROUNDS} times mid-stream, restarted on the same profile: nothing durable lost`, async () => {
    profile = await mkdtemp(join(tmpdir(), `iciia-crash-${ENGINE}-`));
    const port = await freePort();
    const random = prng(SEED);
    const book = newBook();
    const clientId = 'crash';
    let staged = 0, lost = 0, wipes = 0;
    const t0 = Date.now();
    for (let round = 0; round <= ROUNDS; round++) {
      browser = await openBrowser({ routes: routes(), userDataDir: profile, port });
      const page = await openPage(browser);
      const label = `${ENGINE} restart ${round}`;
      const v = await page.evaluate((o) => window.durable.verify(o), { clientId, capacity: CAPACITY });
      try {
        lost += checkRestart(book, v, CAPACITY, label);
      } catch (e) {
        // What the browser had on disk before this restart, and has now.
        const now = idbDir(profile);
        const logs = ENGINE === 'chromium' ? readdirSync(now, { recursive: true }).filter((f) => /(^|\/)(LOG|corruption_info\.json)$/.test(f)) : [];
        console.log(`# ${label} failed; the browser's IndexedDB files before the restart:\n${listing(`${profile}-before`)}\n# now:\n${listing(now)}`);
        const logText = logs.map((f) => readFileSync(join(now, f), 'utf8')).join('\n');
        for (const f of logs) console.log(`# ${f}:\n${readFileSync(join(now, f), 'utf8')}`);
        // Chromium 156 sometimes deletes the origin's whole LevelDB on start-up
        // after a kill, and its LOG then starts with "Creating DB … since it
        // was missing" (README, "Durability": open finding); once, after such
        // a wipe earlier in the run, no LevelDB of the origin was left to read
        // at all. That is the browser discarding the database, below the
        // package: counted and printed, twice per run at most; anything else
        // (a partial loss, a torn record, another engine) fails.
        const discarded = ENGINE === 'chromium' && (/Creating DB .* since it was missing/.test(logText) || logs.length === 0);
        const wiped = !v.storage.head && v.storage.records.length === 0 && v.size === 0 && discarded;
        if (!wiped || wipes >= 2) throw e;
        wipes++;
        // Chromium reported the one wipe seen since it was looked for on the
        // first open (dataLoss 'total', "database was corrupt: checksum
        // mismatch"), and the package then tells the user: printed, and no
        // other warning allowed.
        const told = v.warnings.filter((w) => /reported losing this site's stored data/.test(w));
        assert.deepEqual(v.warnings.filter((w) => !told.includes(w)), [], `${label}: no other warning on the wipe`);
        console.log(`# ${label}: ${ENGINE} discarded the whole database on start-up (${book.durable.size} durable records gone with it; its LOG above); ` +
          `the recognizer said: ${told.length ? JSON.stringify(told[0]) : 'nothing (no dataLoss reported)'}; starting over`);
        Object.assign(book, newBook());
      }
      if (round === ROUNDS) break;
      // A stream as fast as the recognizer goes, and a kill at a random point of it.
      await page.evaluate((o) => window.durable.startStream(o), { first: round * 10_000, flushEvery: 8 });
      await sleep(40 + Math.floor(random() * 400));
      const known = await page.evaluate(() => window.durable.snapshot());
      await killBrowser(browser.browserPid());
      await closeQuietly(browser);
      browser = null;
      // Kept until the next restart is checked, for a failure report.
      await rm(`${profile}-before`, { recursive: true, force: true });
      if (existsSync(idbDir(profile))) await cp(idbDir(profile), `${profile}-before`, { recursive: true });
      staged += recordKnown(book, known, `${ENGINE} kill ${round}`);
      assert.deepEqual(known.warnings, [], `${label}: no warning during the stream`);
    }
    assert.ok(staged > ROUNDS * 5, `the streams staged records (${staged})`);
    console.log(`# ${ENGINE}: ${ROUNDS} kills, ${staged} records handed out, ${book.durable.size} durable ones checked, ` +
      `${lost} in flight and lost (allowed), ${wipes} whole database(s) discarded by the browser on start-up, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });

  // The wipe above comes at random (a kill that lands mid-write of a log
  // record); this makes it happen: one flipped byte in the LevelDB log after a
  // kill is what Chromium then finds. The package must say so once, start an
  // empty history that works, and keep recording.
  test('a LevelDB log found corrupt on start-up (Chromium): the recognizer says the browser lost the data, and a new history works', async (t) => {
    if (ENGINE !== 'chromium') {
      t.skip(`${ENGINE}: the corruption is made in Chromium's LevelDB log; Firefox's store lost nothing over every kill`);
      console.log(`# skipping the corrupt-log case in ${ENGINE}: it corrupts Chromium's LevelDB files`);
      return;
    }
    if (browser) await closeQuietly(browser);
    const dir = await mkdtemp(join(tmpdir(), `iciia-corrupt-${ENGINE}-`));
    try {
      const port = await freePort();
      const clientId = 'corrupt';
      browser = await openBrowser({ routes: routes(), userDataDir: dir, port });
      let page = await openPage(browser);
      await page.evaluate((o) => window.durable.open(o), { clientId, capacity: CAPACITY });
      const known = await page.evaluate(async () => {
        window.durable.startStream({ first: 0, count: 30 });
        await window.durable.streamDone();
        return window.durable.snapshot();
      });
      assert.equal(new Set(known.durable).size, 30, 'the 30 records were durable before the kill');
      await killBrowser(browser.browserPid());
      await closeQuietly(browser);
      browser = null;

      const logs = readdirSync(idbDir(dir), { recursive: true }).filter((f) => /\.leveldb\/\d+\.log$/.test(f));
      assert.equal(logs.length, 1, `one LevelDB log of the origin: ${logs}`);
      const path = join(idbDir(dir), logs[0]);
      const bytes = readFileSync(path);
      assert.ok(bytes.length > 30 * 600, `the log holds the records (${bytes.length} bytes)`);
      bytes[bytes.length >> 1] ^= 0x55;
      writeFileSync(path, bytes);

      browser = await openBrowser({ routes: routes(), userDataDir: dir, port });
      page = await openPage(browser);
      const v = await page.evaluate((o) => window.durable.verify(o), { clientId, capacity: CAPACITY });
      assert.equal(v.warnings.length, 1, v.warnings.join('\n'));
      assert.match(v.warnings[0], /browser reported losing this site's stored data .*dataLoss total.*; the history holds only what was recorded since/);
      assert.deepEqual([v.size, v.storage.records.length, v.storage.head], [0, 0, null], 'Chromium discarded the database');
      assert.deepEqual(v.attention, []);

      const next = await page.evaluate(async () => {
        const rec = window.durable.recognizer();
        const r = await rec.recognize(window.durable.image(7));
        return { seq: r.seq, stored: await r.stored, size: await rec.history.size() };
      });
      assert.equal(next.size, 1, 'recording resumed');
      const again = await page.evaluate((o) => window.durable.verify(o), { clientId, capacity: CAPACITY });
      assert.deepEqual(again.warnings, [], 'said once: a later open reports no loss');
      assert.deepEqual(again.storage.records.map((r) => r.key), [next.seq]);
      assert.deepEqual(again.attention, [next.seq]);
      console.log(`# ${ENGINE}: one byte flipped in the LevelDB log → ${JSON.stringify(v.warnings[0])}`);
    } finally {
      if (browser) await closeQuietly(browser);
      browser = null;
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a tab closed during a commit, then a worker terminated mid-write: nothing durable lost', async () => {
    if (browser) await closeQuietly(browser);
    browser = await openBrowser({ routes: routes() });
    const random = prng(SEED + 1);
    for (const mode of ['tab', 'worker']) {
      const book = newBook();
      const clientId = `crash-${mode}`;
      let page = await openPage(browser);
      let lost = 0;
      const rounds = 6;
      for (let round = 0; round <= rounds; round++) {
        const label = `${ENGINE} ${mode} ${round}`;
        const v = await page.evaluate((o) => window.durable.verify(o), { clientId, capacity: CAPACITY });
        lost += checkRestart(book, v, CAPACITY, label);
        if (round === rounds) break;
        let known;
        if (mode === 'tab') {
          await page.evaluate((o) => window.durable.startStream(o), { first: round * 10_000, flushEvery: 8 });
          await sleep(20 + Math.floor(random() * 200));
          known = await page.evaluate(() => window.durable.snapshot());
          await page.close();
          page = await openPage(browser);
        } else {
          // The page's recognizer goes, so the worker takes the client's lock at once.
          await page.evaluate(() => window.durable.open({ clientId: 'idle' }));
          await page.evaluate((o) => window.durable.startWorker(o), { clientId, capacity: CAPACITY, stream: { first: round * 10_000, flushEvery: 8 } });
          await sleep(20 + Math.floor(random() * 200));
          known = await page.evaluate(() => window.durable.killWorker());
        }
        assert.deepEqual(known.warnings, [], `${label}: no warning during the stream`);
        recordKnown(book, known, label);
      }
      console.log(`# ${ENGINE} ${mode}: ${book.durable.size} durable records checked, ${lost} in flight and lost (allowed)`);
      await page.close();
    }
    assert.deepEqual(browser.errors, []);
    assert.deepEqual(browser.violations(), []);
  });
});
