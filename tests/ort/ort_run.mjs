#!/usr/bin/env node
// onnxruntime-web (wasm backend, one thread, SIMD, no proxy worker) in Node:
// the correctness reference and speed anchor of the iciia-web backbone engine.
//
// Module:
//   const session = await createOrtSession('model.onnx', { extraOutputs: ['/features/Flatten_output_0'] });
//   const out = await runOrt(session, { input: { dims: [1, 3, 224, 224], data } }, ['logits']);
//   // out.logits = { dims: [1, 1000], data: Float32Array, type: 'float32' }
//   await session.release();
//
// CLI:
//   node tests/ort/ort_run.mjs --model M.onnx --input IN.safetensors --output OUT.safetensors [--tensor NAME ...]
//
// Intermediate tensors: onnxruntime returns graph outputs only. A name that is
// not a graph output is made one by editing the model's protobuf bytes
// (`addGraphOutputs`, below) before the session is created. Only tensors
// produced by a node of the main graph can be exposed (not graph inputs,
// initializers, or values inside If/Loop subgraphs). Exposing a tensor keeps
// onnxruntime from fusing across it (e.g. Conv + activation), so the other
// outputs may differ from the unedited model's in the last bits.

import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as ort from 'onnxruntime-web';

import { runIfMain } from '../common/script.mjs';
import { WIRE_LEN, fields, text } from './onnx_proto.mjs';
import { readSafetensorsFile, writeSafetensorsFile } from './safetensors.mjs';

export { ort };

// ---------------------------------------------------------------------------
// Environment: where the wasm comes from, threads, SIMD.

/**
 * The folder of the installed onnxruntime-web's dist files (a file: URL), found
 * through Node's module resolution (the `node` export is dist/ort.node.min.mjs).
 */
export const ortDistUrl = new URL('.', import.meta.resolve('onnxruntime-web'));

/** The runtime files ort loads: the Emscripten glue and the SIMD wasm binary. */
export const ortWasmFiles = Object.freeze({
  mjs: new URL('ort-wasm-simd-threaded.mjs', ortDistUrl),
  wasm: new URL('ort-wasm-simd-threaded.wasm', ortDistUrl),
});

let configured = false;

/**
 * Sets ort.env once: wasm files from the package on disk (nothing is fetched),
 * `threads` threads (default 1: no worker), fixed-width SIMD, no proxy
 * worker, warnings only. Called by createOrtSession; call it yourself first
 * to use `ort` directly or with more threads (fixed once a session exists).
 */
export function configureOrt({ threads = 1 } = {}) {
  if (configured) {
    if (ort.env.wasm.numThreads !== threads && threads !== 1)
      throw new Error(`onnxruntime-web is already configured for ${ort.env.wasm.numThreads} thread(s)`);
    return ort.env;
  }
  for (const url of Object.values(ortWasmFiles)) {
    if (!existsSync(fileURLToPath(url)))
      throw new Error(`onnxruntime-web runtime file missing: ${fileURLToPath(url)} (run \`npm ci\` in tests/ort)`);
  }
  ort.env.wasm.wasmPaths = { mjs: ortWasmFiles.mjs.href, wasm: ortWasmFiles.wasm.href };
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'warning';
  configured = true;
  return ort.env;
}

// ---------------------------------------------------------------------------
// Graph outputs, edited with the bounded wire-format walker of onnx_proto.mjs
// (ModelProto.graph = 7, GraphProto.node = 1 / output = 12 / value_info = 13,
// NodeProto.output = 2, ValueInfoProto.name = 1).

class OnnxEditError extends Error {
  constructor(message) {
    super(message);
    this.name = 'OnnxEditError';
  }
}

function encodeVarint(value) {
  const out = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function valueInfoName(bytes, f) {
  let name = '';
  for (const g of fields(bytes, f.start, f.end)) if (g.field === 1 && g.wire === WIRE_LEN) name = text(bytes, g);
  return name;
}

/**
 * The names an ONNX model's main graph knows: node outputs, graph outputs, and
 * value_info entries (raw ValueInfoProto bytes, which carry the type); and
 * its nodes in file order ({opType, inputs, outputs}).
 * @param {Uint8Array} bytes
 */
export function inspectOnnxGraph(bytes) {
  const graphs = [];
  for (const f of fields(bytes, 0, bytes.length)) if (f.field === 7 && f.wire === WIRE_LEN) graphs.push(f);
  if (graphs.length === 0) throw new OnnxEditError('the model has no graph');
  const produced = new Set();
  const outputs = [];
  const valueInfo = new Map();
  const nodes = [];
  for (const g of graphs) {
    for (const f of fields(bytes, g.start, g.end)) {
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === 1) {
        const node = { opType: '', inputs: [], outputs: [] };
        for (const n of fields(bytes, f.start, f.end)) {
          if (n.wire !== WIRE_LEN) continue;
          if (n.field === 1) node.inputs.push(text(bytes, n));
          else if (n.field === 2) node.outputs.push(text(bytes, n));
          else if (n.field === 4) node.opType = text(bytes, n);
        }
        for (const o of node.outputs) produced.add(o);
        nodes.push(node);
      } else if (f.field === 12) {
        outputs.push(valueInfoName(bytes, f));
      } else if (f.field === 13) {
        valueInfo.set(valueInfoName(bytes, f), bytes.subarray(f.start, f.end));
      }
    }
  }
  produced.delete('');
  return { graphs, produced, outputs, valueInfo, nodes };
}

/**
 * Returns a copy of the model with `names` appended to the main graph's outputs
 * (with their type if the graph's value_info has it, else name only: onnxruntime
 * infers it). Names already graph outputs are left alone; a name no node of the
 * main graph produces is an error.
 * @param {Uint8Array} bytes ONNX ModelProto
 * @param {string[]} names
 * @returns {Uint8Array}
 */
export function addGraphOutputs(bytes, names) {
  const { graphs, produced, outputs, valueInfo } = inspectOnnxGraph(bytes);
  const have = new Set(outputs);
  const missing = names.filter((n) => !have.has(n) && !produced.has(n));
  if (missing.length)
    throw new OnnxEditError(
      `not produced by any node of the main graph, cannot be exposed: ${missing.map((n) => JSON.stringify(n)).join(', ')}` +
        ' (graph inputs, initializers and subgraph values are not supported)',
    );
  const add = [...new Set(names.filter((n) => !have.has(n)))];
  if (add.length === 0) return bytes;

  const enc = new TextEncoder();
  const extra = [];
  for (const name of add) {
    let info = valueInfo.get(name);
    if (!info) {
      const nb = enc.encode(name);
      info = Uint8Array.from([0x0a, ...encodeVarint(nb.length), ...nb]); // ValueInfoProto { name = 1 }
    }
    extra.push(Uint8Array.of(0x62), encodeVarint(info.length), info); // GraphProto.output = 12, LEN
  }
  // Append to the last graph occurrence (protobuf merges repeated occurrences in order).
  const g = graphs[graphs.length - 1];
  const extraLen = extra.reduce((s, a) => s + a.length, 0);
  const newLen = g.end - g.start + extraLen;
  const pieces = [
    bytes.subarray(0, g.tagStart),
    Uint8Array.of(0x3a), // ModelProto.graph = 7, LEN
    encodeVarint(newLen),
    bytes.subarray(g.start, g.end),
    ...extra,
    bytes.subarray(g.end),
  ];
  const out = new Uint8Array(pieces.reduce((s, a) => s + a.length, 0));
  let pos = 0;
  for (const p of pieces) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Sessions and runs.

/**
 * Creates an onnxruntime-web session (wasm, one thread, SIMD).
 * @param {string|URL|Uint8Array} modelPathOrBytes a path / file: URL, or the model bytes
 * @param {object} [options]
 * @param {string[]} [options.extraOutputs] intermediate tensors to expose as graph outputs
 * @param {'disabled'|'basic'|'extended'|'all'} [options.graphOptimizationLevel='all']
 * @param {object} [options.sessionOptions] further ort.InferenceSession.SessionOptions
 * @returns {Promise<ort.InferenceSession>} call `await session.release()` when done
 */
export async function createOrtSession(modelPathOrBytes, options = {}) {
  configureOrt();
  const { extraOutputs = [], graphOptimizationLevel = 'all', sessionOptions = {} } = options;
  let bytes;
  if (modelPathOrBytes instanceof Uint8Array) bytes = modelPathOrBytes;
  else if (typeof modelPathOrBytes === 'string' || modelPathOrBytes instanceof URL) bytes = new Uint8Array(readFileSync(modelPathOrBytes));
  else throw new TypeError('createOrtSession: model must be a path, a file: URL or a Uint8Array');
  if (!Array.isArray(extraOutputs) || extraOutputs.some((n) => typeof n !== 'string'))
    throw new TypeError('createOrtSession: extraOutputs must be an array of tensor names');
  if (extraOutputs.length) bytes = addGraphOutputs(bytes, extraOutputs);
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel,
    ...sessionOptions,
  });
}

const ORT_TYPE_OF_ARRAY = [
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [BigInt64Array, 'int64'],
  [BigUint64Array, 'uint64'],
  [Int32Array, 'int32'],
  [Uint32Array, 'uint32'],
  [Int16Array, 'int16'],
  [Int8Array, 'int8'],
  [Uint8Array, 'uint8'],
];

function ortTypeOf(data) {
  for (const [cls, type] of ORT_TYPE_OF_ARRAY) if (data instanceof cls) return type;
  return null;
}

/**
 * Runs a session.
 * @param {ort.InferenceSession} session
 * @param {Record<string,{dims: number[], data: ArrayLike, type?: string}>} feeds
 *   every model input; `type` defaults from the array (Float32Array → float32, BigInt64Array → int64, ...)
 * @param {string[]} [outputNames] default: every graph output
 * @returns {Promise<Record<string,{dims: number[], data: ArrayLike, type: string}>>}
 */
export async function runOrt(session, feeds, outputNames = session.outputNames) {
  if (feeds === null || typeof feeds !== 'object') throw new TypeError('runOrt: feeds must be an object');
  const meta = new Map((session.inputMetadata ?? []).map((m) => [m.name, m]));
  const ortFeeds = {};
  for (const name of session.inputNames) {
    const f = feeds[name];
    if (!f) throw new Error(`runOrt: no feed for model input "${name}" (inputs: ${session.inputNames.join(', ')})`);
    const type = f.type ?? ortTypeOf(f.data);
    if (!type) throw new TypeError(`runOrt: input "${name}": unsupported data ${f.data?.constructor?.name}`);
    if (!Array.isArray(f.dims) || f.dims.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw new TypeError(`runOrt: input "${name}": bad dims ${JSON.stringify(f.dims)}`);
    const count = f.dims.reduce((a, b) => a * b, 1);
    if (count !== f.data.length) throw new Error(`runOrt: input "${name}": ${f.data.length} elements for dims [${f.dims}] (${count})`);
    const m = meta.get(name);
    if (m?.shape) {
      const fixedMismatch = m.shape.length !== f.dims.length || m.shape.some((d, i) => typeof d === 'number' && d !== f.dims[i]);
      if (fixedMismatch) throw new Error(`runOrt: input "${name}": dims [${f.dims}] do not fit the model's [${m.shape}]`);
      if (m.type && m.type !== type) throw new Error(`runOrt: input "${name}": ${type} data, the model wants ${m.type}`);
    }
    ortFeeds[name] = new ort.Tensor(type, f.data, f.dims);
  }
  for (const name of Object.keys(feeds))
    if (!session.inputNames.includes(name)) throw new Error(`runOrt: "${name}" is not a model input (inputs: ${session.inputNames.join(', ')})`);
  if (!Array.isArray(outputNames) || outputNames.length === 0) throw new TypeError('runOrt: outputNames must be a non-empty array');
  const notOutputs = outputNames.filter((n) => !session.outputNames.includes(n));
  if (notOutputs.length)
    throw new Error(
      `runOrt: not graph outputs of this session: ${notOutputs.join(', ')} ` +
        '(onnxruntime returns graph outputs only; create the session with { extraOutputs: [...] } to expose intermediates)',
    );
  const results = await session.run(ortFeeds, outputNames);
  const out = {};
  for (const name of outputNames) {
    const t = results[name];
    out[name] = { dims: [...t.dims], data: t.data, type: t.type };
  }
  return out;
}

// ---------------------------------------------------------------------------
// CLI.

const ORT_TO_SAFETENSORS = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  int64: 'I64',
  uint64: 'U64',
  int32: 'I32',
  uint32: 'U32',
  int16: 'I16',
  uint16: 'U16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const SAFETENSORS_TO_ORT = Object.fromEntries(Object.entries(ORT_TO_SAFETENSORS).map(([k, v]) => [v, k]));

const USAGE = `usage: node tests/ort/ort_run.mjs --model M.onnx --input IN.safetensors --output OUT.safetensors [--tensor NAME ...]
  Feeds every IN tensor named like a model input (a single-input model also takes IN's "input"),
  runs onnxruntime-web (wasm, 1 thread, SIMD) and writes the requested tensors (default: the graph
  outputs) to OUT. A --tensor that is not a graph output is exposed by editing the model's graph
  outputs (main-graph node outputs only).
  --opt-level disabled|basic|extended|all   ort graph optimization level (default all)`;

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      tensor: { type: 'string', multiple: true },
      'opt-level': { type: 'string', default: 'all' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.model || !values.input || !values.output) {
    console.error(USAGE);
    return 2;
  }
  const requested = values.tensor ?? [];
  const session = await createOrtSession(values.model, {
    extraOutputs: requested,
    graphOptimizationLevel: values['opt-level'],
  });
  try {
    const { tensors } = readSafetensorsFile(values.input);
    const feeds = {};
    for (const name of session.inputNames) {
      let t = tensors[name];
      if (!t && session.inputNames.length === 1) t = tensors.input;
      if (!t) throw new Error(`${values.input} has no tensor for model input "${name}" (it holds: ${Object.keys(tensors).join(', ')})`);
      const type = SAFETENSORS_TO_ORT[t.dtype];
      if (!type) throw new Error(`model input "${name}": dtype ${t.dtype} not supported`);
      feeds[name] = { dims: t.shape, data: t.data, type };
    }
    const names = requested.length ? requested : session.outputNames;
    const t0 = performance.now();
    const out = await runOrt(session, feeds, names);
    const ms = performance.now() - t0;
    const tensorsOut = {};
    for (const [name, t] of Object.entries(out)) {
      const dtype = ORT_TO_SAFETENSORS[t.type];
      if (!dtype) throw new Error(`output "${name}": ort type ${t.type} has no safetensors dtype`);
      tensorsOut[name] = { dtype, shape: t.dims, data: t.data };
    }
    writeSafetensorsFile(values.output, tensorsOut, {
      producer: `onnxruntime-web ${ort.env.versions?.web ?? ''}`.trim(),
      model: basename(String(values.model)),
    });
    for (const [name, t] of Object.entries(out)) console.error(`${name}: ${t.type} [${t.dims.join(', ')}]`);
    console.error(`run: ${ms.toFixed(1)} ms → ${values.output}`);
    return 0;
  } finally {
    await session.release();
  }
}

runIfMain(import.meta.url, main);
