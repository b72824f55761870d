// What N threads can gain on this machine at best: the same loop run once on
// one thread, then split over N threads started together, in this process.
// Two loops: register-only arithmetic (no memory traffic, nothing shared, no
// synchronisation inside), and a WebAssembly SIMD stream that reads one
// array and rewrites another, as a backbone's layers do with their
// activations (each thread its own 1 MiB, no data shared). On a VM the
// ratio falls below N when a host core's other hardware thread is busy or a
// vCPU is preempted; the project's 2-core VM gave 1.16-2.12x on the
// arithmetic from one minute to the next, so a backbone's speed-up is read
// beside these figures, measured in the same minutes (threads.mjs). The
// stream tells whether the memory system, not the cores, caps a memory-bound
// network: on that VM it gained 1.9-2.0x in most minutes (4 MiB a thread
// too), and once 1.60.
import { Worker } from 'node:worker_threads';

import { median } from './browser/measure.mjs';

// Eight independent multiply-add chains: the loop waits on neither memory
// nor one chain's latency. The same text runs on the main thread and in the
// workers, so both are compiled alike.
const ARITHMETIC = `function spin(n) {
  let a = 1.0001, b = 1.0002, c = 1.0003, d = 1.0004, e = 1.0005, f = 1.0006, g = 1.0007, h = 1.0008;
  const m = 0.99999, k = 1e-7;
  for (let i = 0; i < n; i++) {
    a = a * m + k; b = b * m + k; c = c * m + k; d = d * m + k;
    e = e * m + k; f = f * m + k; g = g * m + k; h = h * m + k;
  }
  return a + b + c + d + e + f + g + h;
}`;
// The stream in WebAssembly SIMD, as the engine's kernels run (JavaScript's
// scalar loop moves too few bytes a cycle to meet the memory system): a
// module of one function s(floats, passes) that runs `passes` times over
// y = y * 0.999 + x, four floats a step, x at byte 0 of its own memory and y
// right after. Written out byte by byte below; each thread instantiates its
// own, so no memory is shared. n / 4096 passes over 128K floats each: about
// the arithmetic's time for the same n.
const STREAM = `const STREAM_FLOATS = 131072;
const STREAM_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x06, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x00, // type: (i32, i32) -> ()
  0x03, 0x02, 0x01, 0x00, // function 0 of that type
  0x05, 0x03, 0x01, 0x00, 0x20, // memory: 32 pages (2 MiB)
  0x07, 0x05, 0x01, 0x01, 0x73, 0x00, 0x00, // export "s"
  0x0a, 0x5f, 0x01, 0x5d, // code: one body of 93 bytes
  0x01, 0x03, 0x7f, // locals: p, i, end (i32)
  0x20, 0x00, 0x41, 0x04, 0x6c, 0x21, 0x04, // end = floats * 4 (where y starts)
  0x03, 0x40, // loop over passes
  0x41, 0x00, 0x21, 0x03, // i = 0
  0x03, 0x40, // loop over the floats
  0x20, 0x03, 0x20, 0x04, 0x6a, // address of y[i], for the store
  0x20, 0x03, 0x20, 0x04, 0x6a, 0xfd, 0x00, 0x04, 0x00, // v128.load y[i]
  0xfd, 0x0c, 0x77, 0xbe, 0x7f, 0x3f, 0x77, 0xbe, 0x7f, 0x3f, 0x77, 0xbe, 0x7f, 0x3f, 0x77, 0xbe, 0x7f, 0x3f, // 0.999 x4
  0xfd, 0xe6, 0x01, // f32x4.mul
  0x20, 0x03, 0xfd, 0x00, 0x04, 0x00, // v128.load x[i]
  0xfd, 0xe4, 0x01, // f32x4.add
  0xfd, 0x0b, 0x04, 0x00, // v128.store y[i]
  0x20, 0x03, 0x41, 0x10, 0x6a, 0x22, 0x03, 0x20, 0x04, 0x49, 0x0d, 0x00, // i += 16; while i < end
  0x0b,
  0x20, 0x02, 0x41, 0x01, 0x6a, 0x22, 0x02, 0x20, 0x01, 0x49, 0x0d, 0x00, // p += 1; while p < passes
  0x0b,
  0x0b,
]);
let stream = null;
function spin(n) {
  stream ??= new WebAssembly.Instance(new WebAssembly.Module(STREAM_WASM)).exports.s;
  stream(STREAM_FLOATS, Math.max(1, Math.round(n / 4096)));
  return 0;
}`;
const KERNELS = { arithmetic: ARITHMETIC, stream: STREAM };

// Worker: sleeps until the round number sync[0] changes, says it is awake
// (sync[2]), polls until the round starts (sync[3]), spins its share, counts
// itself done (sync[1]). Waking a sleeping thread took up to 4 ms on the
// project's VM: the timing starts once every worker is awake, so it counts
// the loop's work only.
const worker = (kernel) => `const { workerData } = require('node:worker_threads');
${kernel}
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
 * One-thread time / N-thread time of the same work (`kind`: 'arithmetic' or
 * 'stream'), median over `reps` alternating pairs. `iterations` sets the work
 * (about 40 ms of arithmetic on one thread at the default on the project's VM).
 */
export async function threadCeiling({ threads = 2, reps = 9, iterations = 2e7, kind = 'arithmetic' } = {}) {
  const kernel = KERNELS[kind];
  if (!kernel) throw new Error(`threadCeiling: kind must be one of ${Object.keys(KERNELS).join(', ')}, got ${kind}`);
  const spin = new Function(`${kernel}; return spin;`)();
  const share = Math.ceil(iterations / threads);
  const sab = new SharedArrayBuffer(16);
  const sync = new Int32Array(sab);
  const workers = [];
  for (let w = 1; w < threads; w++) {
    workers.push(new Worker(worker(kernel), { eval: true, workerData: { sab, share } }));
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
