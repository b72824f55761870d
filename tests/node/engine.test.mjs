// The backbone engine in the wasm build: the benchmark backbones against the
// PyTorch logits stored beside them, against onnxruntime-web on random
// inputs, and against the native build (the `iciia infer` tool).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadCore, readSafetensors } from '../../web/dist/index.js';
import { maxAbsDiff, randomVector, read, repoRoot, sharedDir } from './helpers.mjs';

const MODELS = ['mobilenet_v3_small', 'mobilenet_v3_large', 'mobilenet_v2'];
const shared = sharedDir();
const ortInstalled = existsSync(join(repoRoot, 'tests', 'ort', 'node_modules', 'onnxruntime-web'));
const cli = join(repoRoot, 'build', 'native', 'iciia');
const bound = (ref) => 1e-4 * Math.max(1, ...Array.from(ref, Math.abs));

test('backbones match the PyTorch logits', async (t) => {
  if (!shared) return t.skip('../shared not found: benchmark backbones not checked');
  const core = await loadCore();
  for (const name of MODELS) {
    const engine = core.Backbone.fromBytes(read(join(shared, 'models', `${name}.onnx`)), {});
    try {
      const io = await readSafetensors(read(join(shared, 'models', `${name}.io.safetensors`)));
      engine.run(io.tensors.input.data);
      const got = engine.read(engine.info().readable[0]);
      const diff = maxAbsDiff(got, io.tensors.output.data);
      t.diagnostic(`${name}: max |diff| vs PyTorch ${diff}`);
      assert.ok(diff <= bound(io.tensors.output.data), `${name}: ${diff}`);
    } finally {
      engine.delete();
    }
  }
});

test('backbones match onnxruntime-web on 3 random inputs', async (t) => {
  if (!shared) return t.skip('../shared not found: benchmark backbones not checked');
  if (!ortInstalled) return t.skip('tests/ort/node_modules absent: run `npm ci` in tests/ort');
  const { createOrtSession, runOrt } = await import('../ort/ort_run.mjs');
  const core = await loadCore();
  for (const name of MODELS) {
    const bytes = read(join(shared, 'models', `${name}.onnx`));
    const engine = core.Backbone.fromBytes(bytes, {});
    const session = await createOrtSession(bytes);
    try {
      const dims = engine.info().inputDims;
      const out = engine.info().readable[0];
      for (const seed of [1, 2, 3]) {
        // Uniform in [-1, 1): the range the shared models were calibrated for (x2.5 inputs blow
        // MobileNetV3-Large logits up to ~60, where float32 order differences reach 1.1e-4 relative).
        const x = randomVector(dims.reduce((a, b) => a * b, 1), seed);
        engine.run(x);
        const ours = engine.read(out);
        const ref = (await runOrt(session, { [session.inputNames[0]]: { dims, data: x } }, [out]))[out].data;
        const diff = maxAbsDiff(ours, ref);
        t.diagnostic(`${name} seed ${seed}: max |diff| ${diff}, max |ref| ${Math.max(...Array.from(ref, Math.abs))}`);
        assert.ok(diff <= bound(ref), `${name} seed ${seed}: max |diff| ${diff}`);
      }
    } finally {
      engine.delete();
      await session.release?.();
    }
  }
});

test('the wasm and native builds agree', async (t) => {
  if (!shared) return t.skip('../shared not found: benchmark backbones not checked');
  if (!existsSync(cli)) return t.skip(`${cli} not built`);
  const core = await loadCore();
  const dir = mkdtempSync(join(tmpdir(), 'iciia-engine-'));
  const name = 'mobilenet_v3_small';
  const model = join(shared, 'models', `${name}.onnx`);
  const io = join(shared, 'models', `${name}.io.safetensors`);
  execFileSync(cli, ['infer', '--model', model, '--input', io, '--output', join(dir, 'native.safetensors')]);
  const native = await readSafetensors(read(join(dir, 'native.safetensors')));
  const engine = core.Backbone.fromBytes(read(model), {});
  engine.run((await readSafetensors(read(io))).tensors.input.data);
  const wasm = engine.read('logits');
  engine.delete();
  const diff = maxAbsDiff(wasm, native.tensors.logits.data);
  t.diagnostic(`native vs wasm max |diff| ${diff}`);
  assert.equal(diff, 0, 'native and wasm builds differ');
});

test('a model with an op the engine lacks names the op, node and opset', async () => {
  const core = await loadCore();
  // Minimal ONNX: graph with one node "Erf" (opset 13). Built by hand so the
  // test does not depend on the native tool: fields are tiny protobuf messages.
  const enc = new TextEncoder();
  const str = (field, s) => [(field << 3) | 2, s.length, ...enc.encode(s)];
  const msg = (field, bytes) => [(field << 3) | 2, bytes.length, ...bytes];
  const vi = (name) => [...str(1, name), ...msg(2, msg(1, [8, 1, ...msg(2, msg(1, [8, 4]))]))];
  const node = msg(1, [...str(1, 'x'), ...str(2, 'y'), ...str(3, 'erf_1'), ...str(4, 'Erf')]);
  const graph = msg(7, [...node, ...str(2, 'g'), ...msg(11, vi('x')), ...msg(12, vi('y'))]);
  const model = new Uint8Array([8, 8, ...msg(8, [...str(1, ''), 16, 13]), ...graph]);
  assert.throws(() => core.Backbone.fromBytes(model, {}), (e) => /Erf/.test(e.message) && /erf_1/.test(e.message) && /opset 13/.test(e.message));
});

test('the package Backbone class: run, read features, typed errors, dispose', async (t) => {
  if (!shared) return t.skip('../shared not found: benchmark backbones not checked');
  const { Backbone, DisposedError, ModelFormatError } = await import('../../web/dist/index.js');
  const name = 'mobilenet_v3_small';
  const features = '/classifier/classifier.0/Gemm_output_0';
  const b = await Backbone.load(read(join(shared, 'models', `${name}.onnx`)), { tensors: [features] });
  const io = await readSafetensors(read(join(shared, 'models', `${name}.io.safetensors`)));
  const logits = b.run(io.tensors.input.data);
  assert.ok(maxAbsDiff(logits, io.tensors.output.data) <= bound(io.tensors.output.data));
  assert.deepEqual(b.dims(features), [1, 1024]);
  assert.equal(b.read(features).length, 1024);
  assert.deepEqual([...b.info.readable], ['logits', features]);
  assert.throws(() => b.run(new Float32Array(5)), (e) => e instanceof TypeError && /expected/.test(e.message));
  assert.throws(() => b.read('nope'), /not readable/);
  b.dispose();
  assert.throws(() => b.run(io.tensors.input.data), DisposedError);
  await assert.rejects(Backbone.load(new Uint8Array([1, 2, 3])), ModelFormatError);
});
