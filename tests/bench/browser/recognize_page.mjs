// The in-page half of `node tests/bench/recognize.mjs`: end-to-end
// recognize() on a full history, with the package's own per-stage timings.
// onnxruntime-web is imported only for backend 'ort', from the same served
// folder (and with the same settings) as page.mjs uses.
import { createRecognizer } from '/web/dist/index.js';

import { loadOrt } from './ort_web.mjs';

const status = (text) => (document.getElementById('status').textContent = text);

/** Random pixels of a `width` x `height` image with `channels` channels (content does not change the cost). */
function randomImage({ width, height, channels }) {
  const data = new Uint8Array(width * height * channels);
  for (let at = 0; at < data.length; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
  return { data, width, height, channels };
}

/**
 * One configuration: a recognizer on `model` with `backend` and
 * `adaptation`, its history cleared then filled with `capacity` images,
 * `warmup` untimed calls, then `reps` timed calls, every one remembered (so
 * each stores its record and evicts the oldest, as a full history does).
 * Each timed call: `total` until recognize() resolved (the answer), then
 * `commit` until its `stored` resolved (the record durable). With `gapMs`,
 * the page idles that long between calls (a camera at a slow pace): the
 * recognizer has then let the client's lock go and syncs again. Returns
 * plain rows.
 */
async function run({ model, backend, adaptation, capacity, warmup, reps, image, gapMs = 0 }) {
  status(`${backend} ${adaptation}: ${model}`);
  const rec = await createRecognizer({
    model: new URL(model, location.href).href,
    clientId: `bench-${backend}-${adaptation}`,
    historyCapacity: capacity,
    backend,
    adaptation,
    ...(backend === 'ort' ? { ort: await loadOrt() } : {}),
    database: 'iciia-bench',
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

window.iciiaRecognizeBench = {
  run,
  env: () => ({ userAgent: navigator.userAgent, crossOriginIsolated: globalThis.crossOriginIsolated === true }),
};
status('ready');
