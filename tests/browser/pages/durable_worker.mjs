// A module worker running a remembered stream (stream.mjs) for
// durable.html: it posts every seq it stages and every seq known durable,
// until the page terminates it (crash.test.mjs) or the stream ends; then,
// asked ({ export: true }), its history's size and export.
import { createRecognizer } from '../../../web/dist/index.js';
import { runStream } from './stream.mjs';

let rec = null;

self.onmessage = async ({ data }) => {
  try {
    if (data.export) {
      self.postMessage({ exported: { size: await rec.history.size(), bytes: Array.from(await rec.history.export()) } });
      return;
    }
    rec = await createRecognizer({ model: data.model, clientId: data.clientId, historyCapacity: data.capacity, shiftLevel: 0, onWarning: (m) => self.postMessage({ warning: m }) });
    self.postMessage({ ready: true });
    await runStream(rec, data.stream, (kind, seqs) => self.postMessage({ kind, seqs }));
    self.postMessage({ done: true });
  } catch (e) {
    self.postMessage({ error: String(e?.stack ?? e) });
  }
};
