// The page of worker.html: window.runWorker(options) runs recognize_worker.mjs
// in a module worker; window.runPage(options) runs the same on this page's
// own thread, for comparison.
import { createRecognizer } from '../../../web/dist/index.js';
import { recognizeSamples } from './samples.mjs';

const MODEL = new URL('../../../models/fashion-mnist/', import.meta.url).href;

window.runWorker = ({ clientId, count }) =>
  new Promise((resolve, reject) => {
    const worker = new Worker(new URL('recognize_worker.mjs', import.meta.url), { type: 'module' });
    worker.onmessage = ({ data }) => {
      worker.terminate();
      data.ok ? resolve(data) : reject(new Error(data.error));
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(new Error(`worker failed to start: ${e.message}`));
    };
    worker.postMessage({ model: MODEL, clientId, count });
  });

window.runPage = async ({ clientId, count }) => {
  const rec = await createRecognizer({ model: MODEL, clientId, shiftLevel: 0 });
  try {
    return await recognizeSamples(rec, MODEL, count);
  } finally {
    rec.dispose();
  }
};
document.getElementById('status').textContent = 'ready';
