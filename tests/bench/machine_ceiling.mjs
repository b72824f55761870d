// What N threads can gain on this machine at best: a loop of register-only
// arithmetic (no memory traffic, nothing shared, no synchronisation inside)
// run once on one thread, then split over N threads started together, in
// this process. On a VM the ratio falls below N when a host core's other
// hardware thread is busy or a vCPU is preempted; the project's 2-core VM
// gave 1.16-2.12x from one minute to the next, so a backbone's speed-up is
// read beside this figure, measured in the same minutes (threads.mjs).
import { Worker } from 'node:worker_threads';

import { median } from './browser/measure.mjs';

// Eight independent multiply-add chains: the loop waits on neither memory
// nor one chain's latency. The same text runs on the main thread and in the
// workers, so both are compiled alike.
const SPIN = `function spin(n) {
  let a = 1.0001, b = 1.0002, c = 1.0003, d = 1.0004, e = 1.0005, f = 1.0006, g = 1.0007, h = 1.0008;
  const m = 0.99999, k = 1e-7;
  for (let i = 0; i < n; i++) {
    a = a * m + k; b = b * m + k; c = c * m + k; d = d * m + k;
    e = e * m + k; f = f * m + k; g = g * m + k; h = h * m + k;
  }
  return a + b + c + d + e + f + g + h;
}`;
const spin = new Function(`${SPIN}; return spin;`)();

// Worker: sleeps until the round number sync[0] changes, says it is awake
// (sync[2]), polls until the round starts (sync[3]), spins its share, counts
// itself done (sync[1]). Waking a sleeping thread took up to 4 ms on the
// project's VM: the timing starts once every worker is awake, so it counts
// arithmetic only.
const WORKER = `const { workerData } = require('node:worker_threads');
${SPIN}
const sync = new Int32Array(workerData.sab);
let seen = 0, sink = 0;
for (;;) {
  Atomics.wait(sync, 0, seen);
  seen = Atomics.load(sync, 0);
  if (seen < 0) break;
  Atomics.add(sync, 2, 1);
  while (Atomics.load(sync, 3) !== seen) {}
  sink += spin(workerData.share);
  Atomics.add(sync, 1, 1);
  Atomics.notify(sync, 1);
}`;

/**
 * One-thread time / N-thread time of the same register-only work, median
 * over `reps` alternating pairs. `iterations` sets the work (about 40 ms on
 * one thread at the default on the project's VM).
 */
export async function threadCeiling({ threads = 2, reps = 9, iterations = 2e7 } = {}) {
  const share = Math.ceil(iterations / threads);
  const sab = new SharedArrayBuffer(16);
  const sync = new Int32Array(sab);
  const workers = [];
  for (let w = 1; w < threads; w++) {
    workers.push(new Worker(WORKER, { eval: true, workerData: { sab, share } }));
  }
  let sink = 0;
  // One round on every thread; returns its ms, from the start signal.
  const runMany = () => {
    Atomics.store(sync, 1, 0);
    Atomics.store(sync, 2, 0);
    const round = Atomics.add(sync, 0, 1) + 1;
    Atomics.notify(sync, 0);
    while (Atomics.load(sync, 2) !== threads - 1) {}
    const t = performance.now();
    Atomics.store(sync, 3, round);
    sink += spin(share);
    for (let done; (done = Atomics.load(sync, 1)) !== threads - 1;) Atomics.wait(sync, 1, done);
    return performance.now() - t;
  };
  try {
    // Warm-up: the loop optimised on every thread, the workers started.
    sink += spin(share);
    runMany();
    runMany();
    const one = [], many = [];
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      sink += spin(iterations);
      one.push(performance.now() - t);
      many.push(runMany());
    }
    if (!Number.isFinite(sink)) throw new Error('threadCeiling: the arithmetic overflowed');
    return { one: median(one), many: median(many), speedup: median(one) / median(many) };
  } finally {
    Atomics.store(sync, 0, -1);
    Atomics.notify(sync, 0);
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  }
}
