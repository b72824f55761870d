// The measuring part of tests/bench/backbone.mjs, shared by its two modes so
// that Node and the Chromium page time the engines with the very same code.
// Browser-safe: no Node built-ins, no `process`.

// How long the warm-up lasts at least, when several threads run (the
// comment in compareInBlocks says why); tests/bench/threads.mjs uses it too.
export const SETTLE_MS = 1500;

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Our backbone against the reference on the same input: `warmup` runs of each,
 * then `reps` interleaved timed runs (ours, then the reference, then the
 * second anchor if given), then one more run of each to compare outputs.
 * @param {object} a
 * @param {{run(x: Float32Array): void, read(name: string): Float32Array}} a.ours a core.Backbone
 * @param {() => Promise<ArrayLike<number>>} a.runRef one reference run, resolving to its `outName` values
 * @param {(() => ArrayLike<number> | Promise<ArrayLike<number>>) | null} [a.runTfjs] one run of the
 *   second anchor (TF.js), returning or resolving to its output, or null
 * @param {Float32Array} a.x
 * @param {string} a.outName
 * @returns {Promise<{oursMs: number[], refMs: number[], oursMedian: number, refMedian: number, maxAbsDiff: number,
 *   refMaxAbs: number, tfjsMs?: number[], tfjsMedian?: number, tfjsMaxAbsDiff?: number}>}
 *   maxAbsDiff: max |ours - reference|; tfjsMaxAbsDiff: max |TF.js - reference|; refMaxAbs: max |reference|
 */
export async function comparePair({ ours, runRef, runTfjs = null, x, outName, warmup, reps, interleave = true }) {
  const runOurs = () => ours.run(x);
  if (!interleave) return compareInBlocks({ runOurs, ours, runRef, x, outName, warmup, reps });
  for (let i = 0; i < warmup; i++) {
    runOurs();
    await runRef();
    if (runTfjs) await runTfjs();
  }
  const oursMs = [], refMs = [], tfjsMs = [];
  for (let i = 0; i < reps; i++) {
    let t = performance.now();
    runOurs();
    oursMs.push(performance.now() - t);
    t = performance.now();
    await runRef();
    refMs.push(performance.now() - t);
    if (runTfjs) {
      t = performance.now();
      await runTfjs();
      tfjsMs.push(performance.now() - t);
    }
  }
  const refOut = await runRef();
  runOurs();
  const ourOut = ours.read(outName);
  const diff = (out) => {
    let m = out.length === refOut.length ? 0 : Infinity;
    for (let i = 0; i < out.length; i++) m = Math.max(m, Math.abs(out[i] - refOut[i]));
    return m;
  };
  let refMaxAbs = 0;
  for (let i = 0; i < refOut.length; i++) refMaxAbs = Math.max(refMaxAbs, Math.abs(refOut[i]));
  const r = { oursMs, refMs, oursMedian: median(oursMs), refMedian: median(refMs), maxAbsDiff: diff(ourOut), refMaxAbs };
  if (runTfjs) Object.assign(r, { tfjsMs, tfjsMedian: median(tfjsMs), tfjsMaxAbsDiff: diff(await runTfjs()) });
  return r;
}

/**
 * The same comparison for engines on several threads: blocks of `block` calls,
 * ours then the reference's, alternating, with a pause before each block.
 * Alternating call by call makes each start while the other's workers still
 * hold the cores (a 2-core machine: MobileNetV3-S took 78 ms instead of 4.5 for
 * ours, 36 instead of 11 for onnxruntime-web), which measures the collision,
 * not either engine; the pause lets the previous engine's workers go to sleep
 * (ours poll for 0.3 ms first; onnxruntime-web's spin for a while too) and
 * the first call of a block is not timed. Running all of one engine and then
 * all of the other instead left each to a different stretch of a shared
 * machine's load: on this 2-core VM, ort's median moved between 18 and 28 ms
 * from one run to the next and the ratio with it; alternating blocks give
 * both the same.
 */
async function compareInBlocks({ runOurs, ours, runRef, outName, warmup, reps, block = 5, pauseMs = 20, settleMs = SETTLE_MS }) {
  const pause = () => new Promise((resolve) => setTimeout(resolve, pauseMs));
  const oursMs = [], refMs = [];
  // Warm-up rounds, both engines in turn, until settleMs have passed (none
  // for warmup 0). The
  // first model in a page with ops not run before (MobileNetV3-S after
  // MobileNetV2, Chromium, 2 threads) timed 4.6-6.4 ms for ours and 17-18
  // for onnxruntime-web after 5 warm-ups, 4.6 and 7.1 after 40 of each in a
  // row, and 2.1-2.2 and 5.3-5.7 for a second engine of the same model or
  // after these rounds. Presumably V8 compiling the new functions' optimised
  // code on a background thread, which takes a core from the engines' two:
  // in Node the first 10 calls on 2 threads took 5.6 ms, the rest 2.2, and
  // on 1 thread (the second core free) the first were not slower.
  const start = performance.now();
  do {
    for (let i = 0; i < warmup; i++) runOurs();
    await pause();
    for (let i = 0; i < warmup; i++) await runRef();
    await pause();
  } while (warmup > 0 && performance.now() - start < settleMs);
  while (oursMs.length < reps) {
    const n = Math.min(block, reps - oursMs.length);
    await pause();
    runOurs();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      runOurs();
      oursMs.push(performance.now() - t);
    }
    await pause();
    await runRef();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await runRef();
      refMs.push(performance.now() - t);
    }
  }
  // Ours last ran in the final block (reps >= 1); the reference's runs since
  // leave its output alone.
  const ourOut = ours.read(outName);
  const refOut = await runRef();
  let maxAbsDiff = ourOut.length === refOut.length ? 0 : Infinity, refMaxAbs = 0;
  for (let i = 0; i < refOut.length; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ourOut[i] - refOut[i]));
    refMaxAbs = Math.max(refMaxAbs, Math.abs(refOut[i]));
  }
  return { oursMs, refMs, oursMedian: median(oursMs), refMedian: median(refMs), maxAbsDiff, refMaxAbs };
}

/** Resolves after `ms` milliseconds (at once for 0, without a timer). */
export function pause(ms) {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/**
 * Our backbone on one thread against N threads (tests/bench/threads.mjs, in
 * Node or the page): the model loaded twice through the package's
 * `Backbone`, on 1 and on `threads` threads; warm-up rounds of both for at
 * least `settleMs` (none for warmup 0), then `reps` repetitions of one
 * 1-thread call and one N-thread call, each after a `gapMs` pause (0: none,
 * no timer); then both outputs compared bit for bit. Throws when either
 * engine does not run on the threads asked for.
 * @returns {Promise<{oneMs: number[], manyMs: number[], oneMedian: number, manyMedian: number,
 *   pairsMedian: number, same: boolean}>} pairsMedian: the median of each repetition's own ratio
 *   (its two calls back to back), which a shared machine's drift over the run moves less than
 *   the medians' ratio
 */
export async function compareThreads({ Backbone, bytes, dims, threads, x, warmup, reps, gapMs = 0, settleMs = SETTLE_MS }) {
  const one = await Backbone.load(bytes, { inputDims: dims, threads: 1 });
  let many = null;
  try {
    many = await Backbone.load(bytes, { inputDims: dims, threads });
    if (one.info.threads !== 1 || many.info.threads !== threads)
      throw new Error(`asked for 1 and ${threads} threads, got ${one.info.threads} and ${many.info.threads}`);
    // The first calls of a model whose ops were not run yet are slower on N
    // threads (compareInBlocks says why).
    const start = performance.now();
    do {
      for (let i = 0; i < warmup; i++) {
        one.run(x);
        many.run(x);
      }
    } while (warmup > 0 && performance.now() - start < settleMs);
    const oneMs = [], manyMs = [];
    for (let i = 0; i < reps; i++) {
      await pause(gapMs);
      let t = performance.now();
      one.run(x);
      oneMs.push(performance.now() - t);
      await pause(gapMs);
      t = performance.now();
      many.run(x);
      manyMs.push(performance.now() - t);
    }
    const a = one.run(x).slice(), b = many.run(x);
    return {
      oneMs,
      manyMs,
      oneMedian: median(oneMs),
      manyMedian: median(manyMs),
      pairsMedian: median(oneMs.map((t, i) => t / manyMs[i])),
      same: a.length === b.length && a.every((v, i) => Object.is(v, b[i])),
    };
  } finally {
    one.dispose();
    many?.dispose();
  }
}

/**
 * Where our time goes: the median of `runs` profiled runs, per step.
 * @returns {{label: string, kind: string, macs: number, ms: number}[]}
 */
export function profileSteps(ours, x, runs = 5) {
  const all = Array.from({ length: runs }, () => ours.runProfiled(x));
  return all[0].map((s, i) => ({ label: s.label, kind: s.kind, macs: s.macs, ms: median(all.map((r) => r[i].ms)) }));
}
