#!/usr/bin/env node
// Our wasm backbone engine against onnxruntime-web (wasm backend, one thread,
// SIMD), both in the same JavaScript engine: warm-up, then interleaved
// repetitions; prints median ms of each, the ratio ours / onnxruntime-web, and
// our fraction of the SIMD128 peak (model multiply-adds / time, against 4
// multiply-adds per cycle — one f32x4 mul + add — at the clock measured inside
// wasm, clock.mjs, in that same engine). Cores with two vector multiply and
// two vector add pipes (Zen, recent Intel) issue twice that, so the table
// also gives the fraction of 8 multiply-adds per cycle.
//
// A second anchor, TensorFlow.js's wasm backend (XNNPACK; one thread, its
// SIMD binary), runs the same graph rebuilt from tfjs-core ops with the ONNX
// file's weights (tests/ort/tfjs_graph.mjs), interleaved with the other two;
// its output must match onnxruntime-web's within 1e-4 * max(1, max |ort|) or
// the run fails. A model with an op that builder does not map, or a machine
// without the tfjs packages, gets no TF.js column, and the output says why.
//
//   node tests/bench/backbone.mjs --model PATH [--model PATH ...] [--shape 1,3,224,224]
//        [--warmup 5] [--reps 20] [--profile] [--threads N] [--browser [--chromium /usr/bin/chromium]]
//
// --threads N (default 1): ours on N threads (the threads build) against
// onnxruntime-web with numThreads N; TF.js (one thread only here: its wasm
// backend has no threads in Node) is left out when N > 1. In the browser the
// page is cross-origin isolated, as threads need. With N > 1 the two engines
// alternate in blocks of 5 calls with a pause between blocks instead of call
// by call (browser/measure.mjs says why). tests/bench/threads.mjs
// compares our own 1 and N threads.
//
// By default all run in this Node process. --browser runs the same comparison
// in headless Debian Chromium driven by playwright-core (tests/browser/): a
// page served from 127.0.0.1 imports our package (web/dist), onnxruntime-web's
// ESM build and TF.js's browser builds, measures the clock and times the
// engines there with the same code (browser/measure.mjs), and Node prints the
// same table.
// Offline: only loopback, and only an allow-list of files (browser/run.mjs);
// a page request off the list fails the run.
//
// --profile also prints where our time goes, per step and per kind of step.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import { comparePair, profileSteps, SETTLE_MS } from './browser/measure.mjs';

const USAGE =
  'usage: node tests/bench/backbone.mjs --model PATH [--model PATH ...] [--shape 1,3,224,224] ' +
  '[--warmup 5] [--reps 20] [--profile] [--threads N] [--browser [--chromium /usr/bin/chromium]]';
const { values } = parseArgs({
  options: {
    model: { type: 'string', multiple: true },
    shape: { type: 'string', default: '1,3,224,224' },
    warmup: { type: 'string', default: '5' },
    reps: { type: 'string', default: '20' },
    profile: { type: 'boolean', default: false },
    browser: { type: 'boolean', default: false },
    chromium: { type: 'string' },
    threads: { type: 'string', default: '1' },
  },
});
if (!values.model?.length) {
  console.error(USAGE);
  process.exit(2);
}
const dims = values.shape.split(',').map(Number);
const warmup = Number(values.warmup), reps = Number(values.reps);
if (dims.some((d) => !Number.isSafeInteger(d) || d <= 0) || !Number.isSafeInteger(warmup) || warmup < 0 ||
    !Number.isSafeInteger(reps) || reps < 1) {
  console.error(USAGE);
  process.exit(2);
}
const threads = Number(values.threads);
if (!Number.isSafeInteger(threads) || threads < 1 || threads > 16) {
  console.error(USAGE);
  process.exit(2);
}
const count = dims.reduce((a, b) => a * b, 1);
const cpu = `${cpus()[0].model}, ${cpus().length} cores`;
const plan = threads > 1
  ? `${warmup ? `warm-up rounds (${warmup} calls of each engine) for at least ${SETTLE_MS / 1000} s` : 'no warm-up'}, ${reps} repetitions in alternating blocks of 5 per engine`
  : `${warmup} warm-ups, ${reps} interleaved repetitions`;
const threadsText = `${threads} thread${threads === 1 ? '' : 's'}`;

function printTableHead() {
  console.log('| model | MACs | ours ms | onnxruntime-web ms | TF.js-wasm ms | ours / ort | ours / tfjs | ' +
    '% of SIMD128 peak (4 MAC/cycle) | % of 8 MAC/cycle | max |ours - ort| | max |tfjs - ort| |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
}

// Models without a TF.js column (and why), and TF.js outputs off the reference: printed after the table.
const tfjsAbsent = [];
const tfjsOff = [];

/** r: { macs, oursMedian, refMedian, maxAbsDiff, refMaxAbs, tfjsMedian?, tfjsMaxAbsDiff?, tfjsAbsent?, steps? } */
function printRow(path, r, ghz) {
  const mo = r.oursMedian, mr = r.refMedian, mt = r.tfjsMedian;
  const peak = (r.macs / (mo / 1000)) / (4 * ghz * 1e9);
  const hasTfjs = mt !== undefined;
  if (!hasTfjs) tfjsAbsent.push(`${basename(path)}: ${r.tfjsAbsent ?? 'not run'}`);
  else {
    const tol = 1e-4 * Math.max(1, r.refMaxAbs);
    if (!(r.tfjsMaxAbsDiff <= tol))
      tfjsOff.push(`${basename(path)}: max |tfjs - ort| ${r.tfjsMaxAbsDiff} > ${tol.toExponential(2)} (1e-4 * max(1, max |ort| ${r.refMaxAbs}))`);
  }
  console.log(`| ${basename(path)} | ${(r.macs / 1e6).toFixed(1)} M | ${mo.toFixed(2)} | ${mr.toFixed(2)} | ` +
    `${hasTfjs ? mt.toFixed(2) : '-'} | ${(mo / mr).toFixed(2)} | ${hasTfjs ? (mo / mt).toFixed(2) : '-'} | ` +
    `${(100 * peak).toFixed(0)}% | ${(50 * peak).toFixed(0)}% | ${r.maxAbsDiff.toExponential(1)} | ` +
    `${hasTfjs ? r.tfjsMaxAbsDiff.toExponential(1) : '-'} |`);
  if (r.steps) printProfile(path, r.steps);
}

/** After the table: the absent TF.js columns, and a failure for each TF.js output off the reference. */
function printTfjsNotes() {
  if (tfjsAbsent.length) {
    console.log('\nno TF.js column:');
    for (const line of tfjsAbsent) console.log(`  ${line}`);
  }
  if (tfjsOff.length) {
    console.error('\nerror: TF.js output differs from onnxruntime-web\'s beyond the tolerance:');
    for (const line of tfjsOff) console.error(`  ${line}`);
    process.exitCode = 1;
  }
}

const describeTfjs = (b) => `TF.js-wasm ${b.version} (${b.binary}, ${b.threads} thread${b.threads === 1 ? '' : 's'}, SIMD)`;

function printProfile(path, steps) {
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

async function runInNode() {
  const [{ loadCore }, { configureOrt, createOrtSession, runOrt, ort }, { measureGhz }, { randomVector }, { buildTfjsGraph }, { loadTfjsWasm }] =
    await Promise.all([
      import('../../web/dist/index.js'),
      import('../ort/ort_run.mjs'),
      import('./clock.mjs'),
      import('../common/random.mjs'),
      import('../ort/tfjs_graph.mjs'),
      import('../ort/tfjs_wasm.mjs'),
    ]);
  const ghz = await measureGhz();
  const core = await loadCore({ threads });
  if (core.iciiaThreads !== threads) throw new Error(`asked for ${threads} threads, the core runs ${core.iciiaThreads}`);
  configureOrt({ threads });
  let tfjs = null, tfjsError = threads > 1 ? 'TF.js-wasm has no threads in Node' : null;
  try {
    if (threads === 1) tfjs = await loadTfjsWasm();
  } catch (e) {
    tfjsError = e.message;
  }
  const ortVersion = ort.env.versions?.web ? ` ${ort.env.versions.web}` : '';
  console.log(`machine: ${cpu}, ${ghz.toFixed(2)} GHz measured; node ${process.version}; ours: iciia core (${core.simdIsa()}), ` +
    `reference: onnxruntime-web${ortVersion} (wasm, ${threadsText}, SIMD); ours on ${threadsText}; second anchor: ` +
    `${tfjs ? describeTfjs(tfjs.backend) : `none (${tfjsError})`}; ${plan}\n`);
  printTableHead();
  const x = randomVector(count, 7);
  for (const path of values.model) {
    const bytes = new Uint8Array(readFileSync(path));
    const ours = core.Backbone.fromBytes(bytes, { inputDims: dims, threads });
    // onnxruntime-web as its users get it (its workers spin between runs by
    // default); with threads the engines alternate in blocks with a pause
    // between them (browser/measure.mjs), so neither's spinning meets the other.
    const ortSession = await createOrtSession(bytes);
    let graph = null, absent = tfjsError;
    try {
      if (tfjs) {
        try {
          graph = buildTfjsGraph(tfjs.tf, bytes, { inputDims: dims });
        } catch (e) {
          if (e.name !== 'TfjsGraphError') throw e;
          absent = e.message;
        }
      }
      const info = ours.info();
      const inputName = ortSession.inputNames[0];
      const outName = info.readable[0];
      if (graph && graph.outputName !== outName) {
        absent = `the TF.js graph computes ${graph.outputName}, the benchmark compares ${outName}`;
        graph.dispose();
        graph = null;
      }
      const runRef = async () => (await runOrt(ortSession, { [inputName]: { dims, data: x } }, [outName]))[outName].data;
      const runTfjs = graph && (() => graph.run(x));
      const r = await comparePair({ ours, runRef, runTfjs, x, outName, warmup, reps, interleave: threads === 1 });
      printRow(path, { ...r, tfjsAbsent: absent, macs: info.macs, steps: values.profile ? profileSteps(ours, x) : null }, ghz);
    } finally {
      ours.delete();
      graph?.dispose();
      await ortSession.release?.();
    }
  }
  printTfjsNotes();
}

async function runInBrowser() {
  const [{ openBrowserBench, reportAudit }, { randomVector }] = await Promise.all([
    import('./browser/run.mjs'),
    import('../common/random.mjs'),
  ]);
  const bench = await openBrowserBench({
    models: values.model,
    input: randomVector(count, 7),
    executablePath: values.chromium, // undefined: the harness's default
    threads,
  });
  let audit = null;
  try {
    const e = bench.env;
    const ortVersion = e.ortVersion ?? e.ortPackageVersion;
    console.log(`machine: ${cpu}, ${e.ghz.toFixed(2)} GHz measured in the page; Chromium ${e.chromiumVersion}; ` +
      `ours: iciia core (${e.simdIsa}) on ${e.threads} thread(s), reference: onnxruntime-web ${ortVersion} (wasm, ${threadsText}, SIMD); second anchor: ` +
      `${e.tfjsBackend ? describeTfjs(e.tfjsBackend) : `none (${e.tfjsError})`}; ${plan}`);
    console.log(`ran in headless Chromium ${e.chromiumVersion} (${e.executablePath}${e.versionLine ? `: ${e.versionLine}` : ''}), ` +
      `driven by playwright-core ${e.playwrightVersion} from node ${process.version}; page on ${e.origin}, ` +
      `${e.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated'}, ` +
      `navigator.hardwareConcurrency ${e.hardwareConcurrency}\n`);
    printTableHead();
    // Stop at the first request off the allow-list (reported below).
    for (let i = 0; i < values.model.length && !bench.violations().length; i++) {
      const r = await bench.runModel(i, { dims, warmup, reps, profile: values.profile });
      printRow(values.model[i], { ...r, tfjsAbsent: r.tfjsAbsent ?? e.tfjsError }, e.ghz);
    }
    printTfjsNotes();
  } finally {
    audit = await bench.close();
  }
  reportAudit(audit, bench.env);
}

try {
  await (values.browser ? runInBrowser() : runInNode());
} catch (e) {
  console.error(`error: ${e?.stack ?? e}`);
  process.exitCode = 1;
}
