#!/usr/bin/env node
// Our wasm backbone engine against onnxruntime-web (wasm backend, one thread,
// SIMD) in the same Node process: warm-up, then interleaved repetitions;
// prints median ms of each, the ratio ours / onnxruntime-web, and our fraction
// of the SIMD128 peak (model multiply-adds / time, against 4 multiply-adds per
// cycle at the CPU clock /proc/cpuinfo reports).
//
//   node tests/bench/backbone.mjs --model PATH [--model PATH ...] [--shape 1,3,224,224]
//        [--warmup 5] [--reps 20] [--profile]
//
// --profile also prints where our time goes, per step and per kind of step.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import { loadCore } from '../../web/dist/index.js';
import { createOrtSession, runOrt } from '../ort/ort_run.mjs';
import { randomInput } from '../ort/ort_bench.mjs';

const { values } = parseArgs({
  options: {
    model: { type: 'string', multiple: true },
    shape: { type: 'string', default: '1,3,224,224' },
    warmup: { type: 'string', default: '5' },
    reps: { type: 'string', default: '20' },
    profile: { type: 'boolean', default: false },
  },
});
if (!values.model?.length) {
  console.error('usage: node tests/bench/backbone.mjs --model PATH [--model PATH ...] [--shape 1,3,224,224] [--profile]');
  process.exit(2);
}
const dims = values.shape.split(',').map(Number);
const warmup = Number(values.warmup), reps = Number(values.reps);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function cpuGhz() {
  try {
    const mhz = readFileSync('/proc/cpuinfo', 'utf8').match(/cpu MHz\s*:\s*([\d.]+)/);
    if (mhz) return Number(mhz[1]) / 1000;
  } catch {}
  return NaN;
}
const ghz = cpuGhz();

const core = await loadCore();
console.log(`machine: ${ghz.toFixed(2)} GHz (cpuinfo), node ${process.version}; ours: iciia core (${core.simdIsa()}), ` +
  `reference: onnxruntime-web (wasm, 1 thread, SIMD); ${warmup} warm-ups, ${reps} interleaved repetitions\n`);
console.log('| model | MACs | ours ms | onnxruntime-web ms | ours / ort | % of SIMD128 peak | max |ours - ort| |');
console.log('|---|---:|---:|---:|---:|---:|---:|');

for (const path of values.model) {
  const bytes = new Uint8Array(readFileSync(path));
  const ours = core.Backbone.fromBytes(bytes, { inputDims: dims });
  const info = ours.info();
  const ortSession = await createOrtSession(bytes);
  const x = randomInput(dims.reduce((a, b) => a * b, 1), 7);
  const inputName = ortSession.inputNames[0];
  const outName = info.readable[0];
  const runOurs = () => ours.run(x);
  const runOrtOnce = () => runOrt(ortSession, { [inputName]: { dims, data: x } }, [outName]);

  for (let i = 0; i < warmup; i++) {
    runOurs();
    await runOrtOnce();
  }
  const oursMs = [], ortMs = [];
  for (let i = 0; i < reps; i++) {
    let t = performance.now();
    runOurs();
    oursMs.push(performance.now() - t);
    t = performance.now();
    await runOrtOnce();
    ortMs.push(performance.now() - t);
  }
  const ortOut = (await runOrtOnce())[outName].data;
  runOurs();
  const ourOut = ours.read(outName);
  let diff = 0;
  for (let i = 0; i < ourOut.length; i++) diff = Math.max(diff, Math.abs(ourOut[i] - ortOut[i]));
  const mo = median(oursMs), mr = median(ortMs);
  const peak = (info.macs / (mo / 1000)) / (4 * ghz * 1e9);
  console.log(`| ${basename(path)} | ${(info.macs / 1e6).toFixed(1)} M | ${mo.toFixed(2)} | ${mr.toFixed(2)} | ` +
    `${(mo / mr).toFixed(2)} | ${(100 * peak).toFixed(0)}% | ${diff.toExponential(1)} |`);

  if (values.profile) {
    const runs = Array.from({ length: 5 }, () => ours.runProfiled(x));
    const steps = runs[0].map((s, i) => ({ ...s, ms: median(runs.map((r) => r[i].ms)) }));
    const total = steps.reduce((a, s) => a + s.ms, 0);
    const byKind = new Map();
    for (const s of steps) {
      const k = byKind.get(s.kind) ?? { kind: s.kind, ms: 0, macs: 0, n: 0 };
      k.ms += s.ms;
      k.macs += s.macs;
      k.n += 1;
      byKind.set(s.kind, k);
    }
    console.log(`\n  profile of ${basename(path)} (median of 5 profiled runs, ${total.toFixed(2)} ms in steps)\n`);
    console.log('  | kind | steps | ms | share | GMAC/s |');
    console.log('  |---|---:|---:|---:|---:|');
    for (const k of [...byKind.values()].sort((a, b) => b.ms - a.ms))
      console.log(`  | ${k.kind} | ${k.n} | ${k.ms.toFixed(3)} | ${(100 * k.ms / total).toFixed(1)}% | ` +
        `${k.macs ? (k.macs / k.ms / 1e6).toFixed(2) : '-'} |`);
    console.log('\n  slowest steps:');
    for (const s of [...steps].sort((a, b) => b.ms - a.ms).slice(0, 8))
      console.log(`  ${s.ms.toFixed(3)} ms  ${s.kind}  ${s.label}  ${s.macs ? (s.macs / s.ms / 1e6).toFixed(2) + ' GMAC/s' : ''}`);
    console.log('');
  }
  ours.delete();
  await ortSession.release?.();
}
