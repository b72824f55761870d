// Shared by the worker and the page of worker.html, so both run exactly the
// same images through the recognizer.

/** Recognizes the bundle's first `count` samples, remembered; returns plain data. */
export async function recognizeSamples(rec, modelUrl, count) {
  const indexUrl = new URL(rec.manifest.samples, modelUrl);
  const index = (await (await fetch(indexUrl)).json()).slice(0, count);
  const results = [];
  for (const s of index) {
    const bitmap = await createImageBitmap(await (await fetch(new URL(s.file, indexUrl))).blob());
    const r = await rec.recognize(bitmap, { remember: true, topK: 3 });
    bitmap.close();
    results.push({ label: s.label, top: r.top, baseline: r.baseline, attention: r.attention.length, seq: r.seq, historySize: r.historySize });
  }
  await rec.flush();
  return { labels: rec.labels, results, size: await rec.history.size(), inWorker: typeof WorkerGlobalScope !== 'undefined' };
}
