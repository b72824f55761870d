// The in-page half of the in-browser benchmarks: loads our package (web/dist,
// wasm from web/wasm), onnxruntime-web's ESM wasm build and, when asked,
// TF.js's wasm backend (tfjs_web.mjs), and exposes
// window.iciiaBench for the Node drivers to call through page.evaluate:
// { init, runModel } for `node tests/bench/backbone.mjs --browser` (run.mjs),
// { init, runThreads } for `node tests/bench/threads.mjs --browser`,
// { env, recognize } for `node tests/bench/recognize.mjs`. Everything is
// fetched from the driver's loopback server under the same paths as in the
// repository, except onnxruntime-web's dist folder (ort_web.mjs).

const status = (text) => {
  const el = document.getElementById('status');
  if (el) el.textContent = text;
};

try {
  // The drivers pass the thread count of a run in the page's fragment (#threads=N:
  // the request audit allows no query).
  const threads = Number(new URLSearchParams(location.hash.slice(1)).get('threads') ?? 1);
  const [{ Backbone, createRecognizer, loadCore }, ort, { measureGhz }, { comparePair, compareThreads, profileSteps }] = await Promise.all([
    import('/web/dist/index.js'),
    import('./ort_web.mjs').then((m) => m.loadOrt(threads)),
    import('/tests/bench/clock.mjs'),
    import('./measure.mjs'),
  ]);

  let core = null;
  let tfjs = null;

  const fetchBytes = async (url) => {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };

  /**
   * Measures the clock (first, as the Node mode does), loads both engines;
   * returns what the header needs. Waits `settleMs` first: a browser that has
   * just started keeps the cores busy for a second or two (its other
   * processes), which on a 2-core machine slows the clock probe by up to a third.
   */
  async function init({ settleMs = 2000, withTfjs = false } = {}) {
    await new Promise((r) => setTimeout(r, settleMs));
    const ghz = await measureGhz();
    core = await loadCore({ threads });
    let tfjsError = null;
    if (withTfjs) {
      try {
        tfjs = await (await import('./tfjs_web.mjs')).loadTfjs();
      } catch (e) {
        tfjsError = String(e?.message ?? e);
      }
    }
    return {
      tfjsBackend: tfjs?.backend ?? null,
      tfjsError,
      ghz,
      simdIsa: core.simdIsa(),
      ortVersion: ort.env.versions?.web ?? null,
      userAgent: navigator.userAgent,
      hardwareConcurrency: navigator.hardwareConcurrency,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      threads: core.iciiaThreads,
    };
  }

  /**
   * One model: our engine, onnxruntime-web and (if loaded and the graph maps) TF.js on the same bytes
   * and input, timed by measure.mjs.
   * Returns plain data (it crosses back to Node).
   */
  async function runModel({ modelUrl, inputUrl, dims, warmup, reps, profile }) {
    if (!core) throw new Error('iciiaBench.init() first');
    status(`running ${modelUrl}`);
    const bytes = await fetchBytes(modelUrl);
    const x = new Float32Array((await fetchBytes(inputUrl)).buffer);
    if (x.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`input has ${x.length} values for dims [${dims}]`);
    const ours = core.Backbone.fromBytes(bytes, { inputDims: dims, threads: core.iciiaThreads });
    let session = null, graph = null, tfjsAbsent = tfjs ? null : 'TF.js not loaded';
    try {
      const info = ours.info();
      session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const inputName = session.inputNames[0];
      const outName = info.readable[0];
      if (tfjs) {
        const { buildTfjsGraph } = await import('/tests/ort/tfjs_graph.mjs');
        try {
          graph = buildTfjsGraph(tfjs.tf, bytes, { inputDims: dims });
          if (graph.outputName !== outName) {
            tfjsAbsent = `the TF.js graph computes ${graph.outputName}, the benchmark compares ${outName}`;
            graph.dispose();
            graph = null;
          }
        } catch (e) {
          if (e.name !== 'TfjsGraphError') throw e;
          tfjsAbsent = e.message;
        }
      }
      const runRef = async () =>
        (await session.run({ [inputName]: new ort.Tensor('float32', x, dims) }, [outName]))[outName].data;
      const runTfjs = graph && (() => graph.run(x));
      const r = await comparePair({ ours, runRef, runTfjs, x, outName, warmup, reps, interleave: threads === 1 });
      return {
        macs: info.macs,
        oursMs: r.oursMs,
        refMs: r.refMs,
        oursMedian: r.oursMedian,
        refMedian: r.refMedian,
        maxAbsDiff: r.maxAbsDiff,
        refMaxAbs: r.refMaxAbs,
        ...(graph ? { tfjsMs: r.tfjsMs, tfjsMedian: r.tfjsMedian, tfjsMaxAbsDiff: r.tfjsMaxAbsDiff } : { tfjsAbsent }),
        steps: profile ? profileSteps(ours, x) : null,
      };
    } finally {
      ours.delete();
      graph?.dispose();
      await session?.release?.();
      status('idle');
    }
  }

  /**
   * One model on one thread against the page's thread count, our package's
   * Backbone as an app gets it, timed by measure.mjs (compareThreads).
   * Returns plain data.
   */
  async function runThreads({ modelUrl, inputUrl, dims, warmup, reps, gapMs }) {
    status(`threads: ${modelUrl}`);
    try {
      const bytes = await fetchBytes(modelUrl);
      const x = new Float32Array((await fetchBytes(inputUrl)).buffer);
      const { oneMedian, manyMedian, pairsMedian, same } =
        await compareThreads({ Backbone, bytes, dims, threads, x, warmup, reps, gapMs });
      return { oneMedian, manyMedian, pairsMedian, same };
    } finally {
      status('idle');
    }
  }

  /** Random pixels of a `width` x `height` image with `channels` channels (content does not change the cost). */
  function randomImage({ width, height, channels }) {
    const data = new Uint8Array(width * height * channels);
    for (let at = 0; at < data.length; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
    return { data, width, height, channels };
  }

  /**
   * End-to-end recognize() in one configuration: a recognizer on `model`
   * with `backend` and `adaptation`, its history cleared then filled with
   * `capacity` images, `warmup` untimed calls, then `reps` timed calls, every
   * one remembered (so each stores its record and evicts the oldest, as a
   * full history does). Each timed call: `total` until recognize() resolved
   * (the answer), then `commit` until its `stored` resolved (the record
   * durable). With `gapMs`, the page idles that long between calls (a camera
   * at a slow pace). `durability`: the commits' IndexedDB hint ('strict',
   * the package's default, or 'relaxed'). `shiftLevel`: the shift gate's
   * (undefined: the package's default). Returns plain rows.
   */
  async function recognize({ model, backend, adaptation, capacity, warmup, reps, image, gapMs = 0, durability = 'strict', shiftLevel }) {
    status(`${backend} ${adaptation}: ${model}`);
    const rec = await createRecognizer({
      model: new URL(model, location.href).href,
      clientId: `bench-${backend}-${adaptation}`,
      historyCapacity: capacity,
      backend,
      adaptation,
      ...(backend === 'ort' ? { ort } : {}),
      database: 'iciia-bench',
      durability,
      threads,
      ...(shiftLevel === undefined ? {} : { shiftLevel }),
    });
    try {
      await rec.history.clear();
      const images = Array.from({ length: 8 }, () => randomImage(image));
      for (let i = 0; i < capacity + warmup; i++) await rec.recognize(images[i % images.length]);
      await rec.flush();
      const rows = [];
      for (let i = 0; i < reps; i++) {
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
        const t0 = performance.now();
        const r = await rec.recognize(images[i % images.length]);
        const t1 = performance.now();
        await r.stored;
        const t2 = performance.now();
        rows.push({ total: t1 - t0, commit: t2 - t1, ...r.timings, history: r.historySize, adaptation: r.adaptation });
      }
      await rec.history.clear();
      return { backend: rec.backend, rows };
    } finally {
      rec.dispose();
      status('idle');
    }
  }

  const env = () => ({ userAgent: navigator.userAgent, crossOriginIsolated: globalThis.crossOriginIsolated === true });

  window.iciiaBench = { init, runModel, runThreads, recognize, env };
  status('ready');
} catch (e) {
  window.iciiaBenchError = String(e?.stack ?? e);
  status(`failed: ${window.iciiaBenchError}`);
}
