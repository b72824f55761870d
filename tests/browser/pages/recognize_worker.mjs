// A module worker that runs the package: one message in ({ model, clientId,
// count }), the first `count` samples of the bundle recognized in order and
// remembered, one message out with the results (or the error).
import { createRecognizer } from '../../../web/dist/index.js';
import { recognizeSamples } from './samples.mjs';

self.onmessage = async ({ data }) => {
  try {
    const rec = await createRecognizer({ model: data.model, clientId: data.clientId });
    const out = await recognizeSamples(rec, data.model, data.count);
    rec.dispose();
    self.postMessage({ ok: true, ...out });
  } catch (e) {
    self.postMessage({ ok: false, error: String(e?.stack ?? e) });
  }
};
