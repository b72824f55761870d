// The in-page half of `node tests/bench/backbone.mjs --browser`: loads our
// package (web/dist, wasm from web/wasm) and onnxruntime-web's ESM wasm build,
// and exposes window.iciiaBench = { init, runModel } for the Node driver
// (run.mjs) to call through page.evaluate. Everything is fetched from the
// driver's loopback server under the same paths as in the repository, except
// onnxruntime-web's dist folder (ort_web.mjs).

const status = (text) => {
  const el = document.getElementById('status');
  if (el) el.textContent = text;
};

try {
  const [{ loadCore }, ort, { measureGhz }, { comparePair, profileSteps }] = await Promise.all([
    import('/web/dist/index.js'),
    import('./ort_web.mjs').then((m) => m.loadOrt()),
    import('/tests/bench/clock.mjs'),
    import('./measure.mjs'),
  ]);

  let core = null;

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
  async function init({ settleMs = 2000 } = {}) {
    await new Promise((r) => setTimeout(r, settleMs));
    const ghz = await measureGhz();
    core = await loadCore();
    return {
      ghz,
      simdIsa: core.simdIsa(),
      ortVersion: ort.env.versions?.web ?? null,
      userAgent: navigator.userAgent,
      hardwareConcurrency: navigator.hardwareConcurrency,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    };
  }

  /**
   * One model: both engines on the same bytes and input, timed by measure.mjs.
   * Returns plain data (it crosses back to Node).
   */
  async function runModel({ modelUrl, inputUrl, dims, warmup, reps, profile }) {
    if (!core) throw new Error('iciiaBench.init() first');
    status(`running ${modelUrl}`);
    const bytes = await fetchBytes(modelUrl);
    const x = new Float32Array((await fetchBytes(inputUrl)).buffer);
    if (x.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`input has ${x.length} values for dims [${dims}]`);
    const ours = core.Backbone.fromBytes(bytes, { inputDims: dims });
    let session = null;
    try {
      const info = ours.info();
      session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const inputName = session.inputNames[0];
      const outName = info.readable[0];
      const runRef = async () =>
        (await session.run({ [inputName]: new ort.Tensor('float32', x, dims) }, [outName]))[outName].data;
      const r = await comparePair({ ours, runRef, x, outName, warmup, reps });
      return {
        macs: info.macs,
        oursMs: r.oursMs,
        refMs: r.refMs,
        oursMedian: r.oursMedian,
        refMedian: r.refMedian,
        maxAbsDiff: r.maxAbsDiff,
        steps: profile ? profileSteps(ours, x) : null,
      };
    } finally {
      ours.delete();
      await session?.release?.();
      status('idle');
    }
  }

  window.iciiaBench = { init, runModel };
  status('ready');
} catch (e) {
  window.iciiaBenchError = String(e?.stack ?? e);
  status(`failed: ${window.iciiaBenchError}`);
}
