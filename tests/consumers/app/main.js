// A new user's app: the package installed from its tarball, no option beyond
// the model and the client id. Recognizes the bundle's sample images (copied
// beside the app as model/), remembering each, and publishes what happened
// as window.consumerResult (or window.consumerError) for the test to read.
// recognize() answers before its record is durable, so the app waits for
// flush() before it says it is done: the test reloads the page at once, and
// a record still in flight when a page goes away is lost (README, "Durability").
import { createRecognizer } from 'iciia-web';

async function run() {
  const rec = await createRecognizer({ model: 'model/', clientId: 'consumer' });
  const before = await rec.history.size();
  const index = await (await fetch('model/samples/index.json')).json();
  const results = [];
  const stored = [];
  for (const sample of index) {
    const bitmap = await createImageBitmap(await (await fetch(`model/samples/${sample.file}`)).blob());
    const r = await rec.recognize(bitmap, { topK: 1 });
    bitmap.close();
    stored.push(r.stored);
    results.push({ label: sample.label, seq: r.seq, top: r.top[0].index, baseline: r.baseline[0].index, attention: r.attention.length,
      adaptation: r.adaptation, shift: r.shift ?? null });
  }
  await rec.flush();
  const seqs = await Promise.all(stored);
  const after = await rec.history.size();
  rec.dispose();
  return { before, after, seqs, labels: rec.labels.length, results, threads: rec.threads, cores: navigator.hardwareConcurrency, isolated: globalThis.crossOriginIsolated === true };
}

const out = document.getElementById('out');
run().then(
  (r) => {
    window.consumerResult = r;
    out.textContent = JSON.stringify(r, null, 1);
  },
  (e) => {
    window.consumerError = String(e?.stack ?? e);
    out.textContent = window.consumerError;
  },
);
