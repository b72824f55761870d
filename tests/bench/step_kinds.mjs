#!/usr/bin/env node
// Where a second thread is lost: our backbone's per-step profile on one
// thread against N (the threads build), in this Node process, summed by step
// kind (1x1 GEMM, depthwise, im2col stem, ...). Both engines loaded side by
// side, warm-ups, then interleaved profiled runs; each step's median over
// the runs, summed per kind; the speed-up per kind and its share of the
// one-thread time.
//
//   node tests/bench/step_kinds.mjs --model PATH [--model PATH ...] [--threads 2]
//        [--shape 1,3,224,224] [--warmup 5] [--reps 15] [--gap 0]
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename } from 'node:path';

import { Backbone } from '../../web/dist/index.js';
import { randomVector } from '../common/random.mjs';
import { median, pause } from './browser/measure.mjs';
import { parseThreadArgs } from './thread_args.mjs';

const { models, dims, threads, warmup, reps, gap } = parseThreadArgs('step_kinds.mjs', { reps: 15 });

// "conv 1x1 gemm1x1 +residual +relu6" -> "conv 1x1 gemm1x1": what fused in does not change the kernel.
const kindOf = (step) => step.kind.replace(/ \+.*$/, '');

const x = randomVector(dims.reduce((a, b) => a * b, 1), 7);
console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores; node ${process.version}; load average ` +
  `${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${warmup} warm-ups, ${reps} interleaved profiled runs` +
  `${gap ? `, each after a ${gap} ms pause` : ''}`);
for (const path of models) {
  const bytes = new Uint8Array(readFileSync(path));
  const engines = [await Backbone.load(bytes, { inputDims: dims, threads: 1 }), await Backbone.load(bytes, { inputDims: dims, threads })];
  try {
    for (let i = 0; i < warmup; i++) for (const e of engines) e.run(x);
    // times[k][step index] = that step's ms over the runs of engine k.
    const times = engines.map(() => []);
    let steps = null;
    for (let r = 0; r < reps; r++) {
      for (const [k, e] of engines.entries()) {
        await pause(gap);
        const profile = e.profile(x);
        steps ??= profile;
        profile.forEach((s, i) => (times[k][i] ??= []).push(s.ms));
      }
    }
    const kinds = new Map();
    steps.forEach((s, i) => {
      const row = kinds.get(kindOf(s)) ?? { steps: 0, macs: 0, one: 0, many: 0 };
      row.steps++;
      row.macs += s.macs;
      row.one += median(times[0][i]);
      row.many += median(times[1][i]);
      kinds.set(kindOf(s), row);
    });
    const total = [...kinds.values()].reduce((t, r) => ({ one: t.one + r.one, many: t.many + r.many }), { one: 0, many: 0 });
    console.log(`\n${basename(path)}: ${total.one.toFixed(2)} ms on 1 thread, ${total.many.toFixed(2)} on ${threads} ` +
      `(${(total.one / total.many).toFixed(2)}x; sums of per-step medians)\n`);
    console.log(`| step kind | steps | share of 1-thread time | 1 thread ms | ${threads} threads ms | speed-up | GMAC/s on 1 thread |`);
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const [kind, r] of [...kinds].sort((a, b) => b[1].one - a[1].one)) {
      const rate = r.macs ? (r.macs / r.one / 1e6).toFixed(1) : '-';
      console.log(`| ${kind} | ${r.steps} | ${((100 * r.one) / total.one).toFixed(0)}% | ${r.one.toFixed(2)} | ${r.many.toFixed(2)} | ` +
        `${(r.one / r.many).toFixed(2)}x | ${rate} |`);
    }
  } finally {
    for (const e of engines) e.dispose();
  }
}
console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
