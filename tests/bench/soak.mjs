#!/usr/bin/env node
// Soak: a long remembered stream in headless Chromium at a large capacity,
// checked for what slowly goes wrong: the wasm heap (linear memory and the
// bytes malloc'd) and the page's JS heap (after a forced garbage collection,
// DevTools protocol) must stay flat once the history is full, the stored
// record count bounded by the capacity (evicted records really deleted, read
// straight from IndexedDB), and the answer's latency at the end (p50, p99)
// within 20% of its start. Prints a table per checkpoint and the verdict.
//
//   node tests/bench/soak.mjs [--count 10000] [--capacity 1024] [--chunk 500]
//
// tests/browser/soak.test.mjs runs a short version (runSoak below) as a test.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

import { addTree, demoRoutes, ROOT } from '../../scripts/server.mjs';
import { openBrowser } from '../browser/harness.mjs';

const PAGE = '/tests/browser/pages/durable.html';

function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/**
 * Runs `count` remembered recognitions at `capacity` in chunks of `chunk` on
 * an open Chromium harness (openBrowser); returns the checkpoints and a
 * summary. The first checkpoint past `warmup` images is the baseline.
 */
export async function runSoak(browser, { count, capacity, chunk, warmup = Math.max(chunk, 2 * capacity), clientId = 'soak' }) {
  const page = await browser.newPage();
  await page.goto(`${browser.origin}${PAGE}`);
  await page.waitForFunction(() => window.durable, null, { timeout: 60_000 });
  await page.evaluate((o) => window.durable.open(o), { clientId, capacity });
  const cdp = await browser.context.newCDPSession(page);
  const jsHeap = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (await cdp.send('Runtime.getHeapUsage')).usedSize;
  };
  const checkpoints = [];
  for (let done = 0; done < count; ) {
    const n = Math.min(chunk, count - done);
    const c = await page.evaluate((o) => window.durable.soakChunk(o), { first: done, count: n });
    done += n;
    checkpoints.push({ done, ...c, jsHeap: await jsHeap(), p50: percentile(c.latencies, 0.5), p99: percentile(c.latencies, 0.99) });
  }
  await cdp.detach();
  await page.close();
  const base = checkpoints.find((c) => c.done >= warmup) ?? checkpoints[0];
  const last = checkpoints[checkpoints.length - 1];
  const afterWarmup = checkpoints.filter((c) => c.done >= base.done);
  const summary = {
    base,
    last,
    maxRecords: Math.max(...checkpoints.map((c) => c.records)),
    heapGrowth: Math.max(...afterWarmup.map((c) => c.heapBytes)) - base.heapBytes,
    usedGrowth: Math.max(...afterWarmup.map((c) => c.usedBytes)) - base.usedBytes,
    jsGrowth: Math.max(...afterWarmup.map((c) => c.jsHeap)) - base.jsHeap,
    p50Ratio: last.p50 / base.p50,
    p99Ratio: last.p99 / base.p99,
    warnings: last.warnings,
  };
  return { checkpoints, summary };
}

export function printSoak({ checkpoints, summary }, { capacity }) {
  const kB = (n) => (n / 1024).toFixed(1);
  console.log('| images | wasm heap kB | malloc\'d kB | JS heap kB | stored records | history size | p50 ms | p99 ms |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of checkpoints) {
    console.log(`| ${c.done} | ${kB(c.heapBytes)} | ${kB(c.usedBytes)} | ${kB(c.jsHeap)} | ${c.records} | ${c.size} | ${c.p50.toFixed(2)} | ${c.p99.toFixed(2)} |`);
  }
  const s = summary;
  console.log(`\nafter warm-up (${s.base.done} images): wasm heap +${s.heapGrowth} B, malloc'd +${s.usedGrowth} B, JS heap +${kB(s.jsGrowth)} kB; ` +
    `stored records at most ${s.maxRecords} (capacity ${capacity}); p50 ${s.base.p50.toFixed(2)} → ${s.last.p50.toFixed(2)} ms (x${s.p50Ratio.toFixed(2)}), ` +
    `p99 ${s.base.p99.toFixed(2)} → ${s.last.p99.toFixed(2)} ms (x${s.p99Ratio.toFixed(2)})`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '10000' }, capacity: { type: 'string', default: '1024' }, chunk: { type: 'string', default: '500' } },
  });
  const [count, capacity, chunk] = [values.count, values.capacity, values.chunk].map(Number);
  if (![count, capacity, chunk].every((n) => Number.isSafeInteger(n) && n > 0)) {
    console.error('usage: node tests/bench/soak.mjs [--count 10000] [--capacity 1024] [--chunk 500]');
    process.exit(2);
  }
  const browser = await openBrowser({ engine: 'chromium', routes: addTree(demoRoutes(), join(ROOT, 'tests/browser/pages')) });
  try {
    const v = await browser.versions();
    console.log(`soak: ${count} remembered recognitions, capacity ${capacity}, Fashion-MNIST bundle, ${v.product}, ${v.driver}\n`);
    const result = await runSoak(browser, { count, capacity, chunk });
    printSoak(result, { capacity });
    const s = result.summary;
    const flat = s.heapGrowth === 0 && s.usedGrowth <= 64 * 1024 && s.jsGrowth <= 2 * 1024 * 1024;
    const bounded = s.maxRecords <= capacity;
    const steady = s.p50Ratio <= 1.2 && s.p99Ratio <= 1.2;
    console.log(`\nmemory flat: ${flat ? 'yes' : 'NO'}; records bounded: ${bounded ? 'yes' : 'NO'}; latency within 20%: ${steady ? 'yes' : 'NO'}`);
    process.exitCode = flat && bounded ? 0 : 1;
  } finally {
    await browser.close();
  }
}
