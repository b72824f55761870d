// A module worker running a remembered stream (stream.mjs) for
// durable.html: it posts every seq it stages and every seq known durable,
// until the page terminates it (crash.test.mjs) or the stream ends.
import { createRecognizer } from '../../../web/dist/index.js';
import { runStream } from './stream.mjs';

self.onmessage = async ({ data }) => {
  try {
    const rec = await createRecognizer({ model: data.model, clientId: data.clientId, historyCapacity: data.capacity, onWarning: (m) => self.postMessage({ warning: m }) });
    self.postMessage({ ready: true });
    await runStream(rec, data.stream, (kind, seqs) => self.postMessage({ kind, seqs }));
    self.postMessage({ done: true, size: await rec.history.size(), exported: Array.from(await rec.history.export()) });
  } catch (e) {
    self.postMessage({ error: String(e?.stack ?? e) });
  }
};
