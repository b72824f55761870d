// A module worker that runs the package: one message in ({ model, clientId,
// count }), the first `count` samples of the bundle recognized in order and
// remembered, one message out with the results, the thread count and the
// warnings (or the error).
import { createRecognizer } from '../../../web/dist/index.js';
import { recognizeSamples } from './samples.mjs';

self.onmessage = async ({ data }) => {
  try {
    const warnings = [];
    const rec = await createRecognizer({ model: data.model, clientId: data.clientId, shiftLevel: 0, onWarning: (m) => warnings.push(m) });
    const out = await recognizeSamples(rec, data.model, data.count);
    const threads = rec.threads;
    rec.dispose();
    // Two threads asked for explicitly: what runs, and what it says when that is one.
    const askedWarnings = [];
    const asked = await createRecognizer({ model: data.model, clientId: `${data.clientId}-asked`, threads: 2, onWarning: (m) => askedWarnings.push(m) });
    const askedThreads = asked.threads;
    asked.dispose();
    self.postMessage({ ok: true, ...out, threads, warnings, askedThreads, askedWarnings });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e?.stack ?? e) });
  }
};
