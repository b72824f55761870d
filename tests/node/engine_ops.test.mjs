// Every op and fused pattern of the backbone engine, one small model each
// (tests/models/test_models.h, written by build/native/iciia_make_test_models):
// the wasm engine against onnxruntime-web on 3 random inputs, and against the
// native build (`iciia infer`). Bound: max |diff| <= 1e-4 * max(1, max |ref|)
// per output against onnxruntime-web; the native build exactly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { loadCore, readSafetensors } from '../../web/dist/index.js';
import { writeSafetensorsFile } from '../ort/safetensors.mjs';
import { maxAbsDiff, randomVector, read, repoRoot } from './helpers.mjs';

const generator = join(repoRoot, 'build', 'native', 'iciia_make_test_models');
const cli = join(repoRoot, 'build', 'native', 'iciia');
const ortInstalled = existsSync(join(repoRoot, 'tests', 'ort', 'node_modules', 'onnxruntime-web'));
const maxAbs = (a) => Array.from(a, Math.abs).reduce((m, v) => Math.max(m, v), 0);
const bound = (ref) => 1e-4 * Math.max(1, maxAbs(ref));
const numel = (dims) => dims.reduce((a, b) => a * b, 1);

// The models, written once for all tests of this file.
let dir = null;
let models = [];
if (existsSync(generator)) {
  dir = mkdtempSync(join(tmpdir(), 'iciia-ops-'));
  execFileSync(generator, [dir], { stdio: 'pipe' });
  models = JSON.parse(readFileSync(join(dir, 'models.json'), 'utf8'));
}
after(() => dir && rmSync(dir, { recursive: true, force: true }));
const missing = `${generator} not built (add tests/models to the native build): op models not checked`;

/** Loads a model in the wasm engine; calls fn(engine, outputs), then frees it. */
async function withEngine(core, m, fn) {
  const engine = core.Backbone.fromBytes(read(join(dir, m.file)), { inputDims: m.inputDims });
  try {
    return await fn(engine, engine.info().readable);
  } finally {
    engine.delete();
  }
}

test('the op test models are all there', (t) => {
  if (!dir) return t.skip(missing);
  t.diagnostic(`${models.length} models: ${models.map((m) => m.name).join(', ')}`);
  // README: "58 generated models"; tests/native/engine_ops_test.cpp checks every op of the table has one.
  assert.ok(models.length >= 58, `only ${models.length} models`);
  const opsets = new Set(models.map((m) => m.opset));
  for (const opset of [11, 13, 14, 17]) assert.ok(opsets.has(opset), `no model at opset ${opset}`);
});

test('every op test model matches onnxruntime-web on 3 random inputs', async (t) => {
  if (!dir) return t.skip(missing);
  if (!ortInstalled) return t.skip('tests/ort/node_modules absent: run `npm ci` in tests/ort');
  const { createOrtSession, runOrt } = await import('../ort/ort_run.mjs');
  const core = await loadCore();
  for (const m of models) {
    await t.test(m.name, async (st) => {
      const session = await createOrtSession(read(join(dir, m.file)));
      try {
        await withEngine(core, m, async (engine, outputs) => {
          assert.deepEqual(engine.info().inputDims, m.inputDims);
          const worst = {};
          for (const seed of [1, 2, 3]) {
            const x = randomVector(numel(m.inputDims), seed * 7919 + m.name.length);
            engine.run(x);
            const ref = await runOrt(session, { input: { dims: m.inputDims, data: x } }, outputs);
            for (const name of outputs) {
              const ours = engine.read(name);
              assert.deepEqual(engine.dims(name), ref[name].dims, `${name}: dims`);
              const diff = maxAbsDiff(ours, ref[name].data);
              const b = bound(ref[name].data);
              assert.ok(diff <= b, `${m.name} ${name} seed ${seed}: max |diff| ${diff} > ${b}`);
              const w = (worst[name] ??= { diff: 0, ref: 0 });
              w.diff = Math.max(w.diff, diff);
              w.ref = Math.max(w.ref, maxAbs(ref[name].data));
            }
          }
          const parts = Object.entries(worst).map(([n, w]) => `${n} ${w.diff.toExponential(2)} (max |ref| ${w.ref.toFixed(2)})`);
          st.diagnostic(`${m.name} opset ${m.opset} vs ORT: ${parts.join('; ')}`);
        });
      } finally {
        await session.release?.();
      }
    });
  }
});

test('the native and wasm builds agree on every op test model', async (t) => {
  if (!dir) return t.skip(missing);
  if (!existsSync(cli)) return t.skip(`${cli} not built`);
  const core = await loadCore();
  for (const m of models) {
    await t.test(m.name, async (st) => {
      const x = randomVector(numel(m.inputDims), 4242 + m.name.length);
      const inPath = join(dir, `${m.name}.in.safetensors`);
      const outPath = join(dir, `${m.name}.out.safetensors`);
      writeSafetensorsFile(inPath, { input: { dtype: 'F32', shape: m.inputDims, data: x } });
      execFileSync(cli, ['infer', '--model', join(dir, m.file), '--input', inPath, '--output', outPath], { stdio: 'pipe' });
      const native = await readSafetensors(read(outPath));
      await withEngine(core, m, async (engine, outputs) => {
        engine.run(x);
        const parts = [];
        for (const name of outputs) {
          const ref = native.tensors[name];
          assert.ok(ref, `${name} missing from the native output`);
          assert.deepEqual(engine.dims(name), ref.shape, `${name}: dims`);
          // One arithmetic: the same operations in the same order (no fused
          // multiply-add in SIMD128 or SSE2), so bit for bit the same floats.
          const diff = maxAbsDiff(engine.read(name), ref.data);
          assert.equal(diff, 0, `${m.name} ${name}: native vs wasm max |diff| ${diff}`);
          parts.push(`${name} ${diff.toExponential(2)}`);
        }
        st.diagnostic(`${m.name} native vs wasm: ${parts.join('; ')}`);
      });
    });
  }
});
