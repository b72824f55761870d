// The TF.js anchor of tests/bench/backbone.mjs: tests/ort/tfjs_graph.mjs
// rebuilds an ONNX graph from tfjs-core ops (wasm backend, XNNPACK), checked
// here against onnxruntime-web on the small op models the project generates
// (tests/models/test_models.h, written by build/native/iciia_make_test_models),
// so it runs without ../shared. Bound: max |diff| <= 1e-4 * max(1, max |ref|),
// the benchmark's. An op the builder does not map is a TfjsGraphError naming
// it, with no tensor left behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { maxAbsDiff, randomVector, read, repoRoot } from './helpers.mjs';

const generator = join(repoRoot, 'build', 'native', 'iciia_make_test_models');
const ortModules = join(repoRoot, 'tests', 'ort', 'node_modules');
const ortInstalled = existsSync(join(ortModules, 'onnxruntime-web'));
const tfjsInstalled = ['tfjs-core', 'tfjs-backend-wasm'].every((p) => existsSync(join(ortModules, '@tensorflow', p)));
const numel = (dims) => dims.reduce((a, b) => a * b, 1);

// The pieces of the benchmark's backbones (conv + folded BN + Relu/Relu6,
// depthwise, residual Add, pooling, flatten, Gemm) and the conv variants.
const MAPPED = [
  'conv_bn_relu', 'conv_bn_add_relu', 'conv_bn_add_relu_downsample', 'conv_clip6', 'conv_depthwise_5x5',
  'conv_3x3_pad_stride2', 'conv_asymmetric_pads', 'conv_dilated', 'conv_1x1_stride2_batch2', 'conv_auto_pad_same',
  'batchnorm_standalone', 'gap_flatten_gemm', 'gemm_relu', 'gemm_transb_alpha_beta', 'reshape_from_nhwc', 'identity_dropout',
];
// Models the builder must refuse, and what the message must name.
const REFUSED = { softmax: /Softmax/, conv_grouped: /group 3/, maxpool_ceil: /ceil_mode/, gemm_transa_full_c: /transA/ };

let dir = null;
let models = new Map();
if (existsSync(generator)) {
  dir = mkdtempSync(join(tmpdir(), 'iciia-tfjs-'));
  execFileSync(generator, [dir], { stdio: 'pipe' });
  models = new Map(JSON.parse(readFileSync(join(dir, 'models.json'), 'utf8')).map((m) => [m.name, m]));
}
after(() => dir && rmSync(dir, { recursive: true, force: true }));

/** The reason to skip, or null. */
function skipReason() {
  if (!dir) return `${generator} not built (add tests/models to the native build): the TF.js graph builder is not checked`;
  if (!ortInstalled) return 'tests/ort/node_modules absent: run `npm ci` in tests/ort';
  if (!tfjsInstalled) return '@tensorflow/tfjs-core or tfjs-backend-wasm absent from tests/ort/node_modules: run `npm ci` in tests/ort';
  return null;
}

test('the TF.js graph matches onnxruntime-web on the generated conv/pool/gemm models', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const [{ loadTfjsWasm }, { buildTfjsGraph }, { createOrtSession, runOrt }] = await Promise.all([
    import('../ort/tfjs_wasm.mjs'),
    import('../ort/tfjs_graph.mjs'),
    import('../ort/ort_run.mjs'),
  ]);
  const { tf, backend } = await loadTfjsWasm();
  t.diagnostic(`TF.js ${backend.version}: ${backend.binary}, ${backend.threads} thread(s)`);
  assert.equal(backend.threads, 1);
  assert.equal(backend.binary, 'tfjs-backend-wasm-simd.wasm');
  for (const name of MAPPED) {
    await t.test(name, async () => {
      const m = models.get(name);
      assert.ok(m, `${name} is not among the generated models`);
      const bytes = read(join(dir, m.file));
      const before = tf.memory().numTensors;
      const graph = buildTfjsGraph(tf, bytes, { inputDims: m.inputDims });
      const session = await createOrtSession(bytes);
      try {
        const outName = session.outputNames[0];
        assert.equal(graph.outputName, outName);
        for (const seed of [1, 2]) {
          const x = randomVector(numel(m.inputDims), seed);
          const ref = (await runOrt(session, { [session.inputNames[0]]: { dims: m.inputDims, data: x } }, [outName]))[outName];
          assert.deepEqual(graph.outputDims, ref.dims);
          const y = graph.run(x);
          const refMax = ref.data.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
          const diff = maxAbsDiff(y, ref.data);
          assert.ok(diff <= 1e-4 * Math.max(1, refMax), `${name}: max |tfjs - ort| ${diff} (max |ort| ${refMax})`);
        }
      } finally {
        graph.dispose();
        await session.release();
      }
      assert.equal(tf.memory().numTensors, before, 'run() and dispose() leave no tensor behind');
    });
  }
});

test('ops the TF.js graph does not map are refused by name, leaving no tensor', async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const [{ loadTfjsWasm }, { buildTfjsGraph, TfjsGraphError }] = await Promise.all([
    import('../ort/tfjs_wasm.mjs'),
    import('../ort/tfjs_graph.mjs'),
  ]);
  const { tf } = await loadTfjsWasm();
  for (const [name, message] of Object.entries(REFUSED)) {
    const m = models.get(name);
    assert.ok(m, `${name} is not among the generated models`);
    const before = tf.memory().numTensors;
    assert.throws(() => buildTfjsGraph(tf, read(join(dir, m.file)), { inputDims: m.inputDims }),
      (e) => e instanceof TfjsGraphError && message.test(e.message), name);
    assert.equal(tf.memory().numTensors, before, `${name}: weights made before the refusal are freed`);
  }
});
