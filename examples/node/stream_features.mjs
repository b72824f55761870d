// Headless example: streams one client's feature vectors through ICIIA on the
// WebAssembly build and prints, per step, the adapted prediction, where the
// attention went, and the cached query's agreement with full recomputation.
//
//   node examples/node/stream_features.mjs [--weights W.safetensors] [--steps N]
//
// Until the trained Fashion-MNIST bundle exists, the weights are the paper's
// reference module (../shared) or the project's own test fixture, and the
// features are synthetic: a client that sees 3 "classes", each a fixed
// prototype plus noise. The predictions are therefore not meaningful classes;
// the mechanics (history, k/v cache, attention) are what this shows.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { IciiaModel, IciiaSession } from '../../web/dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: { weights: { type: 'string' }, steps: { type: 'string', default: '24' }, capacity: { type: 'string', default: '16' } },
});
const candidates = [
  values.weights,
  join(root, '..', 'shared', 'reference', 'iciia', 'ref_a.safetensors'),
  join(root, 'tests', 'fixtures', 'iciia', 'g1_d16_h4_l1_full.safetensors'),
].filter(Boolean);
const weightsPath = candidates.find((p) => existsSync(p));
if (!weightsPath) throw new Error(`no ICIIA weights found; tried ${candidates.join(', ')}`);

const model = await IciiaModel.load(readFileSync(weightsPath));
const { dim, numClasses, numLayers, numPartitions, attention } = model.config;
const session = new IciiaSession(model, { capacity: Number(values.capacity) });
console.log(`weights   ${weightsPath}`);
console.log(`model     d=${dim} C=${numClasses} L=${numLayers} g=${numPartitions} ${attention} attention; ` +
  `k/v cache ${session.cached ? 'on' : 'off (recomputes)'}; history capacity ${session.capacity}`);

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const prototypes = [0, 1, 2].map(() => Float32Array.from({ length: dim }, rand));
const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

console.log('\nstep  source  history  top-1  p(top-1)  most-attended (source, weight)  |cached-recompute|  query ms');
let worst = 0;
const sources = [];
for (let step = 0; step < Number(values.steps); step++) {
  const src = step % 3 === 2 ? 2 : step % 2;
  const feature = prototypes[src].map((v) => v + 0.3 * rand());
  const t0 = performance.now();
  const r = session.query(feature, { attention: true });
  const ms = performance.now() - t0;
  const check = session.queryRecompute(feature);
  const diff = Math.max(...r.logits.map((v, i) => Math.abs(v - check.logits[i])));
  worst = Math.max(worst, diff);
  const top = argmax(r.logits);
  const z = Math.max(...r.logits);
  const p = Math.exp(r.logits[top] - z) / r.logits.reduce((s, v) => s + Math.exp(v - z), 0);
  const a = r.attention.length ? argmax(r.attention) : -1;
  const attended = a < 0 ? '-' : `(#${a} from ${sources[sources.length - r.attention.length + a]}, ${r.attention[a].toFixed(3)})`;
  console.log(`${String(step).padStart(4)}  ${String(src).padStart(6)}  ${String(session.size).padStart(7)}  ` +
    `${String(top).padStart(5)}  ${p.toFixed(3).padStart(8)}  ${attended.padEnd(31)}  ${diff.toExponential(1).padStart(17)}  ${ms.toFixed(3).padStart(8)}`);
  session.append(feature);
  sources.push(src);
}
console.log(`\nworst |cached - recompute| over the stream: ${worst.toExponential(2)}`);
session.dispose();
model.dispose();
