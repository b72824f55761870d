// The onnxruntime-web harness in tests/ort: its safetensors reader/writer, and
// onnxruntime-web's agreement with the PyTorch logits stored beside the shared
// backbones (../shared/models/NAME.io.safetensors: `input` [1,3,224,224],
// `output` [1,1000]).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  SafetensorsError,
  parseSafetensors,
  readSafetensorsFile,
  serializeSafetensors,
  writeSafetensorsFile,
} from '../ort/safetensors.mjs';
import { maxAbsDiff, randomVector, repoRoot, sharedDir } from './helpers.mjs';

const ortDir = join(repoRoot, 'tests', 'ort');
const ortInstalled = existsSync(join(ortDir, 'node_modules', 'onnxruntime-web'));
const NO_ORT = 'tests/ort/node_modules absent: run `npm ci` in tests/ort to check onnxruntime-web';

// onnxruntime-web is only imported when installed (a static import would fail the file).
const loadHarness = () => import('../ort/ort_run.mjs');

test('safetensors: F32, I64 and more round-trip with metadata', () => {
  const f32 = randomVector(2 * 3 * 5, 7);
  const i64 = BigInt64Array.from([0n, -1n, 9007199254740993n, -(2n ** 63n), 2n ** 63n - 1n, 42n]);
  const tensors = {
    weights: { shape: [2, 3, 5], data: f32 },
    ids: { dtype: 'I64', shape: [6], data: i64 },
    small: { shape: [3], data: Int32Array.from([1, -2, 3]) },
    flags: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
    empty: { shape: [0, 4], data: new Float32Array(0) },
    scalar: { shape: [], data: Float32Array.of(-0.5) },
    'odd.name/with:chars': { shape: [1], data: Float64Array.of(Math.PI) },
  };
  const bytes = serializeSafetensors(tensors, { format: 'test', note: 'ünïcode' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(headerLen % 8, 0, 'header padded to 8 bytes');
  const back = parseSafetensors(bytes);
  assert.deepEqual(back.metadata, { format: 'test', note: 'ünïcode' });
  assert.deepEqual(Object.keys(back.tensors), Object.keys(tensors));
  for (const [name, t] of Object.entries(tensors)) {
    const b = back.tensors[name];
    assert.deepEqual(b.shape, t.shape, name);
    assert.equal(b.dtype, t.dtype ?? { Float32Array: 'F32', Int32Array: 'I32', Float64Array: 'F64' }[t.data.constructor.name], name);
    assert.equal(b.data.constructor, t.data.constructor, name);
    assert.deepEqual([...b.data], [...t.data], name);
  }
  // A Node Buffer (small ones are views into a shared pool) parses the same.
  const fromBuffer = parseSafetensors(Buffer.from(bytes));
  assert.deepEqual([...fromBuffer.tensors.weights.data], [...f32]);
  assert.deepEqual([...fromBuffer.tensors.ids.data], [...i64]);
  // Byte-stable: serializing what was read gives the same file.
  assert.deepEqual(serializeSafetensors(back.tensors, back.metadata), bytes);

  const dir = mkdtempSync(join(tmpdir(), 'ort-harness-'));
  try {
    const path = join(dir, 'x.safetensors');
    writeSafetensorsFile(path, tensors);
    const fromDisk = readSafetensorsFile(path);
    assert.equal(fromDisk.metadata, null);
    assert.deepEqual([...fromDisk.tensors.ids.data], [...i64]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors: malformed files are rejected with a SafetensorsError', () => {
  const good = serializeSafetensors({ a: { shape: [2], data: Float32Array.of(1, 2) }, b: { shape: [1], data: Float32Array.of(3) } });
  const headerLen = Number(new DataView(good.buffer).getBigUint64(0, true));
  const withHeader = (obj, dataBytes) => {
    const json = new TextEncoder().encode(JSON.stringify(obj));
    const out = new Uint8Array(8 + json.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  const bad = {
    'too short': good.subarray(0, 5),
    'header length past the end': (() => {
      const b = good.slice();
      new DataView(b.buffer).setBigUint64(0, BigInt(b.length), true);
      return b;
    })(),
    'huge header length': (() => {
      const b = good.slice();
      new DataView(b.buffer).setBigUint64(0, 2n ** 63n, true);
      return b;
    })(),
    truncated: good.subarray(0, good.length - 1),
    'trailing bytes': Uint8Array.from([...good, 0]),
    'not JSON': (() => {
      const b = good.slice();
      b[9] = 0x7b; // '{{...'
      return b;
    })(),
    'header not an object': withHeader([1, 2], 0),
    'unknown dtype': withHeader({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, 1),
    'negative dim': withHeader({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4),
    'fractional dim': withHeader({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4),
    'size mismatch': withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4),
    'offsets past the data': withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 8),
    'reversed offsets': withHeader({ a: { dtype: 'U8', shape: [0], data_offsets: [1, 0] } }, 1),
    overlap: withHeader(
      { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
      8,
    ),
    gap: withHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8),
    'overflowing shape': withHeader({ a: { dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 4] } }, 4),
    'metadata value not a string': withHeader({ __metadata__: { n: 1 } }, 0),
  };
  assert.ok(headerLen > 0);
  for (const [what, bytes] of Object.entries(bad)) assert.throws(() => parseSafetensors(bytes), SafetensorsError, what);

  assert.throws(() => serializeSafetensors({ a: { shape: [3], data: new Float32Array(2) } }), SafetensorsError);
  assert.throws(() => serializeSafetensors({ a: { dtype: 'I64', shape: [1], data: new Float32Array(1) } }), SafetensorsError);
  assert.throws(() => serializeSafetensors({ __metadata__: { shape: [0], data: new Float32Array(0) } }), SafetensorsError);
});

/** Runs NAME.onnx on NAME.io.safetensors's `input` and compares with its `output` (PyTorch logits). */
async function compareWithPytorch(t, name) {
  if (!ortInstalled) return t.skip(NO_ORT);
  const shared = sharedDir();
  const model = shared && join(shared, 'models', `${name}.onnx`);
  const io = shared && join(shared, 'models', `${name}.io.safetensors`);
  if (!model || !existsSync(model) || !existsSync(io)) return t.skip(`../shared/models/${name}.onnx or .io.safetensors not found`);

  const { createOrtSession, runOrt } = await loadHarness();
  const { tensors } = readSafetensorsFile(io);
  const { input, output: ref } = tensors;
  assert.equal(input.dtype, 'F32');
  assert.equal(ref.dtype, 'F32');
  const session = await createOrtSession(model);
  try {
    assert.deepEqual(session.inputNames.length, 1, 'single-input model');
    const [inName] = session.inputNames;
    const [outName] = session.outputNames;
    const out = await runOrt(session, { [inName]: { dims: input.shape, data: input.data } });
    assert.deepEqual(out[outName].dims, ref.shape);
    const diff = maxAbsDiff(out[outName].data, ref.data);
    const refMax = ref.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    // The bound of docs/design.md, "Backbone engine": 1e-4 relative to the logits' scale. onnxruntime-web
    // 1.30.0 meets it on all three backbones (max |diff| 3.7e-8 .. 2.7e-6 for
    // logits up to 0.43), so no looser tolerance is needed.
    const tol = 1e-4 * Math.max(1, refMax);
    t.diagnostic(`${name}: max |ort - torch| ${diff.toExponential(3)}, max |torch| ${refMax.toExponential(3)}, tolerance ${tol}`);
    assert.ok(diff <= tol, `${name}: max |diff| ${diff} > ${tol} (max |ref| ${refMax})`);
  } finally {
    await session.release();
  }
}

for (const name of ['mobilenet_v3_small', 'mobilenet_v2', 'mobilenet_v3_large'])
  test(`onnxruntime-web reproduces the PyTorch logits of ${name}`, (t) => compareWithPytorch(t, name));

test('intermediate tensors: exposed by name, unknown names rejected', async (t) => {
  if (!ortInstalled) return t.skip(NO_ORT);
  const shared = sharedDir();
  const model = shared && join(shared, 'models', 'mobilenet_v3_small.onnx');
  if (!model || !existsSync(model)) return t.skip('../shared/models/mobilenet_v3_small.onnx not found');

  const { addGraphOutputs, createOrtSession, inspectOnnxGraph, runOrt } = await loadHarness();
  const { readFileSync } = await import('node:fs');
  const bytes = new Uint8Array(readFileSync(model));
  const { produced, outputs } = inspectOnnxGraph(bytes);
  const features = '/Flatten_output_0';
  assert.ok(produced.has(features), 'the exported graph names its flatten output');
  assert.throws(() => addGraphOutputs(bytes, ['no such tensor']), /not produced by any node/);
  assert.equal(addGraphOutputs(bytes, outputs), bytes, 'existing outputs: model unchanged');

  const plain = await createOrtSession(bytes);
  const edited = await createOrtSession(bytes, { extraOutputs: [features] });
  try {
    const x = randomVector(3 * 224 * 224, 3);
    const feeds = { [plain.inputNames[0]]: { dims: [1, 3, 224, 224], data: x } };
    await assert.rejects(runOrt(plain, feeds, [features]), /not graph outputs/);
    const a = await runOrt(plain, feeds);
    const b = await runOrt(edited, feeds, [features, ...outputs]);
    assert.deepEqual(b[features].dims, [1, 576]);
    assert.ok(maxAbsDiff(a[outputs[0]].data, b[outputs[0]].data) <= 1e-5, 'logits unchanged by exposing an intermediate');
  } finally {
    await plain.release();
    await edited.release();
  }
});
