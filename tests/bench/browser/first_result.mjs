// The in-page half of `node tests/bench/first_result.mjs`: one start of the
// package, timed with performance.now() from the navigation's start (0),
// everything fetched from the driver's loopback server. The driver sets
// window.iciiaFirstResultConfig (an init script, before this module runs):
// { backend, model, image: { width, height, channels }, classes }. The page
// imports only what that backend needs (onnxruntime-web for 'ort' only) and
// sets window.iciiaFirstResult to a promise of plain data: the marks, the
// first answer's scores, the check against a warm recognizer, the resources
// fetched.

const marks = { script: performance.now() };
const mark = (name) => {
  marks[name] ??= performance.now();
};
const status = (text) => {
  const el = document.getElementById('status');
  if (el) el.textContent = text;
};

/**
 * The fixed test frame: raw pixels (nothing to decode), the same bytes in
 * every start, a smooth gradient with hashed noise so that the backbone sees
 * an image with structure rather than a constant.
 */
function testFrame({ width, height, channels }) {
  const data = new Uint8Array(width * height * channels);
  let at = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let h = Math.imul(x * 73856093 ^ y * 19349663 ^ c * 83492791, 0x9e3779b1);
        h ^= h >>> 15;
        data[at++] = c === 3 ? 255 : ((x * 255) / width + (y * 128) / height + (c * 85) + (h & 63)) & 255;
      }
    }
  }
  return { data, width, height, channels };
}

/** Every class's score of `top` and `baseline`, by class index (plain arrays: they cross back to Node). */
function scores(r, classes) {
  const byIndex = (list) => {
    const out = new Array(classes).fill(null);
    for (const p of list) out[p.index] = p.score;
    return out;
  };
  return { top1: r.top[0].index, baselineTop1: r.baseline[0].index, top: byIndex(r.top), baseline: byIndex(r.baseline) };
}

const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

async function start(cfg) {
  const image = testFrame(cfg.image);
  mark('frame');
  const [pkg, ort] = await Promise.all([
    import('/web/dist/index.js'),
    cfg.backend === 'ort' ? import('./ort_web.mjs').then((m) => m.loadOrt()) : null,
  ]);
  mark('imported');
  const { createRecognizer, loadCore } = pkg;
  // The same promise createRecognizer awaits (loadCore keeps one per URL):
  // watching it times the core without changing what runs in parallel.
  void loadCore({ threads: cfg.threads }).then(() => mark('core'));
  const clientId = `first-${performance.timeOrigin}`; // a fresh, empty history on every navigation
  const options = {
    model: new URL(cfg.model, location.href).href,
    backend: cfg.backend,
    ...(ort ? { ort } : {}),
    database: 'iciia-first-result',
    threads: cfg.threads,
    onProgress: (p) => {
      if (p.total !== undefined && p.loaded === p.total) mark('fetched');
    },
  };
  const rec = await createRecognizer({ ...options, clientId });
  mark('model');
  const r = await rec.recognize(image, { topK: cfg.classes });
  mark('first');

  // Untimed from here: the record is stored, then a second recognizer on an
  // empty history (another client id), warmed by three calls, answers the
  // same frame; the first answer must be that one.
  status('checking');
  let check = null;
  try {
    await r.stored;
    if (r.historySize !== 1 || r.attention.length !== 0) throw new Error(`the first call saw a history (size ${r.historySize} after it, ${r.attention.length} attention entries)`);
    check = await createRecognizer({ ...options, onProgress: undefined, clientId: `${clientId}-check` });
    let warm;
    for (let i = 0; i < 4; i++) warm = await check.recognize(image, { topK: cfg.classes, remember: false });
    const first = scores(r, cfg.classes), again = scores(warm, cfg.classes);
    const resources = performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'));
    return {
      marks,
      backend: rec.backend,
      first,
      check: {
        top1: again.top1,
        baselineTop1: again.baselineTop1,
        maxAbsDiff: Math.max(maxAbsDiff(first.top, again.top), maxAbsDiff(first.baseline, again.baseline)),
      },
      // transferSize 0 with a body: served from the HTTP cache.
      resources: resources.map((e) => ({ name: e.name, transferSize: e.transferSize, decodedBodySize: e.decodedBodySize })),
      userAgent: navigator.userAgent,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    };
  } finally {
    check?.dispose();
    rec.dispose();
    status('done');
  }
}

window.iciiaFirstResult = start(window.iciiaFirstResultConfig).catch((e) => {
  status(`failed: ${e?.stack ?? e}`);
  return { error: String(e?.stack ?? e), marks };
});
