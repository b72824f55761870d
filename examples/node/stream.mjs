// The headless example (./scripts/main.sh --headless): one simulated client's
// stream of the bundle's sample images through the iciia-web package in Node,
// printing which adaptation runs, per image the backbone's and the adapted
// prediction and both running accuracies. The stream is the demo page's for
// the same seed (examples/demo/client_stream.mjs).
//
//   node examples/node/stream.mjs [--model models/fashion-mnist] [--classes 3]
//        [--count 120] [--seed 1] [--client node-example]
//        [--adaptation iciia|prior|none] [--alpha A] [--shift-level L] [--quiet]
//
// Node has no IndexedDB: fake-indexeddb (a devDependency of web/) provides an
// in-memory one, so the history lives as long as this process.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { pickStream } from '../demo/client_stream.mjs';
import { decodePng } from './png.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const USAGE =
  'usage: node examples/node/stream.mjs [--model DIR] [--classes N] [--count N] [--seed N] [--client ID] ' +
  '[--adaptation iciia|prior|none] [--alpha A] [--shift-level L (0: adapt always)] [--quiet]';
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(ROOT, 'models/fashion-mnist') },
    classes: { type: 'string', default: '3' },
    count: { type: 'string', default: '120' },
    seed: { type: 'string', default: '1' },
    client: { type: 'string', default: 'node-example' },
    adaptation: { type: 'string' },
    alpha: { type: 'string' },
    'shift-level': { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
const [classes, count, seed] = [values.classes, values.count, values.seed].map(Number);
const alpha = values.alpha === undefined ? undefined : Number(values.alpha);
const level = values['shift-level'] === undefined ? undefined : Number(values['shift-level']);
if (![classes, count, seed].every((n) => Number.isSafeInteger(n) && n >= 0) || !classes || !count ||
    (alpha !== undefined && !(alpha >= 0)) || (level !== undefined && !(level >= 0 && level < 1)) || (values.adaptation && !['iciia', 'prior', 'none'].includes(values.adaptation))) {
  console.error(USAGE);
  process.exit(2);
}

// Before the package: the recognizer looks IndexedDB up when it opens a history.
await import(pathToFileURL(createRequire(join(ROOT, 'web/package.json')).resolve('fake-indexeddb/auto')).href);
const { createRecognizer } = await import('../../web/dist/index.js');

const dir = resolve(values.model);
const read = (f) => new Uint8Array(readFileSync(join(dir, f)));
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
if (!manifest.samples) throw new Error(`${dir}/manifest.json names no samples`);
const names = ['manifest.json', manifest.backbone.file, ...(manifest.iciia ? [manifest.iciia.file] : [])];
const files = Object.fromEntries(names.map((f) => [f, read(f)]));
const samplesDir = join(dir, manifest.samples, '..');
const samples = JSON.parse(readFileSync(join(dir, manifest.samples), 'utf8'));

const rec = await createRecognizer({
  model: files,
  clientId: values.client,
  onWarning: (m) => console.warn(`warning: ${m}`),
  ...(values.adaptation ? { adaptation: values.adaptation } : {}),
  ...(alpha !== undefined ? { priorAlpha: alpha } : {}),
  ...(level !== undefined ? { shiftLevel: level } : {}),
});
const stream = pickStream(samples, { classes, count, seed });
const name = (i) => rec.labels[i] ?? String(i);
console.log(`model     ${manifest.name ?? dir} (${rec.labels.length} classes, fingerprint ${rec.fingerprint.slice(0, 16)}…)`);
console.log(`adaptation ${rec.adaptation}${rec.adaptation === 'prior' ? ` (Dirichlet alpha ${rec.priorAlpha})` : ''}; ` +
  `this bundle offers ${rec.adaptations.join(', ')}; ` +
  (rec.shiftLevel ? `shift gate at level ${rec.shiftLevel} (the backbone answers until the history shows a class mix of its own)` : 'no shift gate'));
console.log(`client    ${rec.clientId}: ${stream.items.length} sample images of ${stream.classes.map(name).join(', ')} (seed ${seed}); ` +
  `history ${await rec.history.size()} before, capacity ${rec.historyCapacity}`);

const w = Math.max(...rec.labels.map((l) => l.length), 5);
const cell = (e) => `${e.label.padEnd(w)} ${e.score.toFixed(2)}`;
if (!values.quiet)
  console.log(`\n step  ${'truth'.padEnd(w)}  ${'backbone'.padEnd(w + 5)}  ${'adapted'.padEnd(w + 5)}  history  ${rec.adaptation === 'prior' ? 'most frequent class (estimated)' : 'most attended (label, weight)'}  acc backbone / adapted`);
let right = 0, rightBaseline = 0, gated = 0;
const time = { preprocess: 0, backbone: 0, sync: 0, adapt: 0 };
const labelOfSeq = new Map();
for (const [i, item] of stream.items.entries()) {
  const image = decodePng(readFileSync(join(samplesDir, item.file)));
  const r = await rec.recognize(image, { remember: true, topK: 1 });
  if (r.seq !== undefined) labelOfSeq.set(r.seq, item.label);
  right += r.top[0].index === item.label;
  rightBaseline += r.baseline[0].index === item.label;
  const held = r.adaptation === 'none' && r.shift !== undefined;
  gated += held;
  for (const k of Object.keys(time)) time[k] += r.timings[k];
  if (values.quiet) continue;
  const top = r.attention.reduce((best, a) => (a.weight > (best?.weight ?? -1) ? a : best), null);
  let attended = top ? `${labelOfSeq.has(top.seq) ? name(labelOfSeq.get(top.seq)) : `#${top.seq}`}, ${top.weight.toFixed(3)}` : '-';
  if (held) attended = `gate: G ${r.shift.statistic.toFixed(1)} <= ${r.shift.threshold.toFixed(1)}`;
  if (r.classPrior) {
    const y = r.classPrior.indexOf(Math.max(...r.classPrior));
    attended = `${name(y)}, ${r.classPrior[y].toFixed(3)}`;
  }
  const mark = (e) => (e.index === item.label ? '+' : ' ');
  console.log(`${String(i + 1).padStart(5)}  ${name(item.label).padEnd(w)}  ${mark(r.baseline[0])}${cell(r.baseline[0])}  ` +
    `${mark(r.top[0])}${cell(r.top[0])}  ${String(r.historySize).padStart(7)}  ${attended.padEnd(29)}  ` +
    `${(rightBaseline / (i + 1)).toFixed(3)} / ${(right / (i + 1)).toFixed(3)}`);
}
const n = stream.items.length;
console.log(`\naccuracy over ${n} images: backbone ${(100 * rightBaseline / n).toFixed(1)}%, adapted (${rec.adaptation}) ${(100 * right / n).toFixed(1)}%` +
  (rec.shiftLevel ? `; the shift gate held for ${gated} of them` : ''));
console.log(`mean ms per image: ${Object.entries(time).map(([k, v]) => `${k} ${(v / n).toFixed(2)}`).join(', ')}`);
console.log(`history now ${await rec.history.size()} records (in fake-indexeddb: gone when this process ends)`);
await rec.flush();
rec.dispose();
