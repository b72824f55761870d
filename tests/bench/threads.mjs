#!/usr/bin/env node
// Our backbone on one thread against N threads (the threads build), in this
// Node process or, with --browser, in one cross-origin isolated page of
// headless Debian Chromium (browser/run.mjs, as backbone.mjs --browser):
// both engines loaded side by side on the same model and input, warm-ups
// for at least 1.5 s, then interleaved repetitions (browser/measure.mjs,
// compareThreads: the same code in both); prints the medians, the speed-up
// (1-thread ms / N-thread ms), the median of each repetition's own ratio,
// and whether the outputs are the same bits; before and after, the
// machine's own N-thread ceilings (machine_ceiling.mjs, in Node: arithmetic,
// and a stream through memory), since this VM's vary from one minute to the
// next.
//
//   node tests/bench/threads.mjs --model PATH [--model PATH ...] [--threads 2]
//        [--shape 1,3,224,224] [--warmup 5] [--reps 21] [--gap 0]
//        [--browser [--chromium /usr/bin/chromium]]
//
// --gap 100 pauses 100 ms before every timed call, as an app's calls come:
// the workers have gone to sleep and must be woken (a sleeping thread took
// 0.6-4 ms to run again on the project's 2-core VM after 100 ms idle).
//
// tests/bench/backbone.mjs --threads N sets N threads against
// onnxruntime-web's N, in Node or Chromium.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename } from 'node:path';

import { Backbone } from '../../web/dist/index.js';
import { randomVector } from '../common/random.mjs';
import { compareThreads, SETTLE_MS } from './browser/measure.mjs';
import { threadCeiling } from './machine_ceiling.mjs';
import { parseThreadArgs } from './thread_args.mjs';

const { models, dims, threads, warmup, reps, gap, browser, chromium } =
  parseThreadArgs('threads.mjs', { reps: 21, browser: true });

const x = randomVector(dims.reduce((a, b) => a * b, 1), 7);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
// The machine's own ceilings, before and after the models: what N threads
// gain on arithmetic that touches no memory, and on a stream through memory
// of each thread's own (machine_ceiling.mjs; measured in Node in both modes,
// on the same cores the page uses).
const ceiling = async (when) => {
  const c = await threadCeiling({ threads });
  const s = await threadCeiling({ threads, kind: 'stream' });
  console.log(`machine ceiling ${when}: register-only arithmetic ${c.one.toFixed(1)} ms on 1 thread, ` +
    `${c.many.toFixed(1)} on ${threads}: ${c.speedup.toFixed(2)}x; memory stream ${s.one.toFixed(1)} ms, ` +
    `${s.many.toFixed(1)}: ${s.speedup.toFixed(2)}x`);
};
const plan = `${warmup ? `warm-ups (${warmup} a round) for at least ${SETTLE_MS / 1000} s` : 'no warm-up'}, ` +
  `${reps} interleaved repetitions${gap ? `, each call after a ${gap} ms pause` : ''}`;
let failed = false;
const printRow = (path, r) => {
  failed ||= !r.same;
  console.log(`| ${basename(path)} | ${r.oneMedian.toFixed(2)} | ${r.manyMedian.toFixed(2)} | ` +
    `${(r.oneMedian / r.manyMedian).toFixed(2)}x | ${r.pairsMedian.toFixed(2)}x | ${r.same ? 'yes' : 'NO'} |`);
};
const printTableHead = () => {
  console.log('');
  console.log(`| model | 1 thread ms | ${threads} threads ms | speed-up | median of pairs | same output bits |`);
  console.log('|---|---:|---:|---:|---:|---|');
};

async function runInNode() {
  console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; load average ${load()}; ${plan}`);
  await ceiling('before');
  printTableHead();
  for (const path of models)
    printRow(path, await compareThreads({ Backbone, bytes: new Uint8Array(readFileSync(path)), dims, threads, x, warmup, reps, gapMs: gap }));
}

async function runInBrowser() {
  const { openBrowserBench, reportAudit } = await import('./browser/run.mjs');
  const bench = await openBrowserBench({ models, input: x, executablePath: chromium, threads });
  let audit = null;
  try {
    const e = bench.env;
    if (!e.crossOriginIsolated || e.threads !== threads)
      throw new Error(`the page runs ${e.threads} thread(s)${e.crossOriginIsolated ? '' : ', not cross-origin isolated'}; asked for ${threads}`);
    console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; headless Chromium ${e.chromiumVersion} ` +
      `(${e.executablePath}), playwright-core ${e.playwrightVersion}, node ${process.version}; page cross-origin isolated, ` +
      `navigator.hardwareConcurrency ${e.hardwareConcurrency}; load average ${load()}; ${plan}`);
    await ceiling('before');
    printTableHead();
    for (let i = 0; i < models.length && !bench.violations().length; i++)
      printRow(models[i], await bench.runThreads(i, { dims, warmup, reps, gapMs: gap }));
  } finally {
    audit = await bench.close();
  }
  reportAudit(audit, bench.env);
}

try {
  await (browser ? runInBrowser() : runInNode());
  console.log('');
  await ceiling('after');
  console.log(`load average after: ${load()}`);
  if (failed) {
    console.error('error: an output differs between 1 and N threads (they must be the same bits)');
    process.exitCode = 1;
  }
} catch (e) {
  console.error(`error: ${e?.stack ?? e}`);
  process.exitCode = 1;
}
