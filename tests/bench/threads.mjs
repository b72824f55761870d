#!/usr/bin/env node
// Our backbone on one thread against N threads (the threads build), in this
// Node process: both engines loaded side by side on the same model and input,
// warm-ups for at least 1.5 s, then interleaved repetitions; prints the
// medians, the speed-up (1-thread ms / N-thread ms), the median of each
// repetition's own ratio, and whether the outputs are the same bits;
// before and after, the machine's own N-thread ceiling (machine_ceiling.mjs),
// since this VM's varies from one minute to the next.
//
//   node tests/bench/threads.mjs --model PATH [--model PATH ...] [--threads 2]
//        [--shape 1,3,224,224] [--warmup 5] [--reps 21] [--gap 0]
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
import { median, SETTLE_MS } from './browser/measure.mjs';
import { threadCeiling } from './machine_ceiling.mjs';
import { parseThreadArgs, pause } from './thread_args.mjs';

const { models, dims, threads, warmup, reps, gap } = parseThreadArgs('threads.mjs', { reps: 21 });

const x = randomVector(dims.reduce((a, b) => a * b, 1), 7);
// The machine's own ceiling, before and after the models: what N threads
// gain on arithmetic that touches no memory (machine_ceiling.mjs).
const ceiling = async (when) => {
  const c = await threadCeiling({ threads });
  console.log(`machine ceiling ${when}: register-only arithmetic ${c.one.toFixed(1)} ms on 1 thread, ` +
    `${c.many.toFixed(1)} on ${threads}: ${c.speedup.toFixed(2)}x`);
};
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; load average ` +
  `${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${warmup ? `warm-ups (${warmup} a round) for at least ${SETTLE_MS / 1000} s` : 'no warm-up'}, ${reps} interleaved repetitions` +
  `${gap ? `, each call after a ${gap} ms pause` : ''}`);
await ceiling('before');
console.log('');
console.log(`| model | 1 thread ms | ${threads} threads ms | speed-up | median of pairs | same output bits |`);
console.log('|---|---:|---:|---:|---:|---|');
let failed = false;
for (const path of models) {
  const bytes = new Uint8Array(readFileSync(path));
  const one = await Backbone.load(bytes, { inputDims: dims, threads: 1 });
  const many = await Backbone.load(bytes, { inputDims: dims, threads });
  try {
    if (one.info.threads !== 1 || many.info.threads !== threads)
      throw new Error(`asked for 1 and ${threads} threads, got ${one.info.threads} and ${many.info.threads}`);
    // Warm-ups for at least SETTLE_MS: the first calls of a model whose ops were
    // not run yet are slower on N threads, presumably V8 compiling their
    // optimised code on a background thread (browser/measure.mjs).
    const start = performance.now();
    do {
      for (let i = 0; i < warmup; i++) {
        one.run(x);
        many.run(x);
      }
    } while (warmup > 0 && performance.now() - start < SETTLE_MS);
    const t1 = [], tn = [];
    for (let i = 0; i < reps; i++) {
      await pause(gap);
      let t = performance.now();
      one.run(x);
      t1.push(performance.now() - t);
      await pause(gap);
      t = performance.now();
      many.run(x);
      tn.push(performance.now() - t);
    }
    const a = one.run(x).slice(), b = many.run(x);
    const same = a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    failed ||= !same;
    const m1 = median(t1), mn = median(tn);
    // Each repetition's own ratio (its two calls back to back) is less moved
    // by the VM's drift over the seconds of the run than the medians' ratio.
    const pairs = median(t1.map((t, i) => t / tn[i]));
    console.log(`| ${basename(path)} | ${m1.toFixed(2)} | ${mn.toFixed(2)} | ${(m1 / mn).toFixed(2)}x | ${pairs.toFixed(2)}x | ` +
      `${same ? 'yes' : 'NO'} |`);
  } finally {
    one.dispose();
    many.dispose();
  }
}
console.log('');
await ceiling('after');
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
if (failed) {
  console.error('error: an output differs between 1 and N threads (they must be the same bits)');
  process.exitCode = 1;
}
