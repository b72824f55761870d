#!/usr/bin/env node
// Latency of onnxruntime-web (wasm, one thread, SIMD) in Node: the speed anchor
// of the iciia-web backbone engine.
//
//   const ms = await timeOrt('model.onnx', [1, 3, 224, 224], { warmup: 5, reps: 20 });
//   summarize(ms).median
//
//   node tests/ort/ort_bench.mjs --model A.onnx [--model B.onnx ...] [--dims 1,3,224,224] [--warmup 5] [--reps 20] [--json]
//
// Each timing is performance.now() around one `session.run` (input tensor made
// once, outside the timed region; session creation and warm-ups not timed).

import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import { randomVector } from '../common/random.mjs';
import { runIfMain } from '../common/script.mjs';
import { createOrtSession, ort } from './ort_run.mjs';

/**
 * Times `session.run` on a random float32 input of shape `dims`.
 * @param {string|URL|Uint8Array} modelPath
 * @param {number[]} dims input shape, e.g. [1, 3, 224, 224]
 * @param {{warmup?: number, reps?: number, seed?: number, inputName?: string, sessionOptions?: object}} [options]
 *   inputName defaults to the model's only input; sessionOptions go to createOrtSession
 * @returns {Promise<number[]>} milliseconds of each of the `reps` timed runs, in order
 */
export async function timeOrt(modelPath, dims, { warmup = 5, reps = 20, seed = 1, inputName, sessionOptions = {} } = {}) {
  if (!Array.isArray(dims) || dims.length === 0 || dims.some((d) => !Number.isSafeInteger(d) || d <= 0))
    throw new TypeError(`timeOrt: bad dims ${JSON.stringify(dims)}`);
  if (!Number.isSafeInteger(warmup) || warmup < 0) throw new TypeError(`timeOrt: bad warmup ${warmup}`);
  if (!Number.isSafeInteger(reps) || reps < 1) throw new TypeError(`timeOrt: bad reps ${reps}`);
  const session = await createOrtSession(modelPath, sessionOptions);
  try {
    const name = inputName ?? session.inputNames[0];
    if (!session.inputNames.includes(name)) throw new Error(`timeOrt: "${name}" is not a model input (${session.inputNames.join(', ')})`);
    if (session.inputNames.length !== 1 && inputName === undefined)
      throw new Error(`timeOrt: the model has ${session.inputNames.length} inputs; only single-input models are supported`);
    const count = dims.reduce((a, b) => a * b, 1);
    const feeds = { [name]: new ort.Tensor('float32', randomVector(count, seed), dims) };
    for (let i = 0; i < warmup; i++) await session.run(feeds);
    const times = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    return times;
  } finally {
    await session.release();
  }
}

/** median / min / mean / max of a list of milliseconds. */
export function summarize(times) {
  const s = [...times].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) throw new Error('summarize: no times');
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return { median, min: s[0], mean: s.reduce((a, b) => a + b, 0) / n, max: s[n - 1], n };
}

const USAGE = `usage: node tests/ort/ort_bench.mjs --model M.onnx [--model ...] [--dims 1,3,224,224] [--warmup 5] [--reps 20] [--json]`;

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', multiple: true },
      dims: { type: 'string', default: '1,3,224,224' },
      warmup: { type: 'string', default: '5' },
      reps: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || !values.model?.length) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  const dims = values.dims.split(',').map(Number);
  const warmup = Number(values.warmup);
  const reps = Number(values.reps);
  const rows = [];
  for (const model of values.model) {
    const times = await timeOrt(model, dims, { warmup, reps });
    const s = summarize(times);
    rows.push({ model: basename(model), dims, warmup, reps, ...s, times });
    if (!values.json)
      console.log(
        `${basename(model)} [${dims}]: median ${s.median.toFixed(2)} ms (min ${s.min.toFixed(2)}, mean ${s.mean.toFixed(2)}, max ${s.max.toFixed(2)}; ${warmup} warm-up, ${reps} runs)`,
      );
  }
  if (values.json)
    console.log(JSON.stringify({ runtime: `onnxruntime-web ${ort.env.versions?.web ?? ''} wasm, 1 thread, SIMD`, node: process.version, results: rows }, null, 2));
  return 0;
}

runIfMain(import.meta.url, main);
