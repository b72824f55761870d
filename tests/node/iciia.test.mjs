// The ICIIA module in the WebAssembly build, through the web package.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';

import {
  DisposedError,
  IciiaModel,
  IciiaSession,
  InvalidArgumentError,
  ModelFormatError,
  loadCore,
  readSafetensors,
} from '../../web/dist/index.js';
import { fixturesDir, maxAbsDiff, randomVector, read, sharedDir, weightPairs } from './helpers.mjs';

async function expectReproduces({ name, weights, io }, tolerance) {
  const model = await IciiaModel.load(read(weights));
  try {
    const ref = await readSafetensors(read(io));
    const input = ref.tensors.input;
    const output = ref.tensors.output;
    assert.equal(input.shape[1], model.config.dim, `${name}: input width`);
    const got = model.forward(input.data, input.shape[0]);
    const diff = maxAbsDiff(got, output.data);
    assert.ok(diff <= tolerance, `${name}: max |diff| ${diff} > ${tolerance}`);
    return diff;
  } finally {
    model.dispose();
  }
}

test('the core is the SIMD128 build', async () => {
  const core = await loadCore();
  assert.equal(core.simdIsa(), 'wasmsimd');
});

test("reproduces the paper module's reference outputs to 1e-4", async (t) => {
  const shared = sharedDir();
  if (!shared) {
    t.skip('../shared not found: the paper reference vectors are not checked');
    return;
  }
  const pairs = weightPairs(join(shared, 'reference', 'iciia'));
  assert.ok(pairs.length >= 2, 'reference files missing');
  for (const p of pairs) t.diagnostic(`${p.name}: max |diff| ${await expectReproduces(p, 1e-4)}`);
});

test('reproduces the project fixtures to 1e-4', async (t) => {
  const pairs = weightPairs(fixturesDir);
  assert.ok(pairs.length >= 6, 'fixtures missing from tests/fixtures/iciia');
  for (const p of pairs) t.diagnostic(`${p.name}: max |diff| ${await expectReproduces(p, 1e-4)}`);
});

test('cached session queries match full recompute to 1e-5', async () => {
  for (const { name, weights } of weightPairs(fixturesDir)) {
    const model = await IciiaModel.load(read(weights));
    const session = await IciiaSession.create(model, { capacity: 5 });
    const { dim, numLayers, attention } = model.config;
    const exactAfterEviction = numLayers === 1 || !session.cached;
    for (let step = 0; step < 9; step++) {
      if (session.size === session.capacity && !exactAfterEviction) break;
      const target = randomVector(dim, 100 + step);
      const a = session.query(target, { attention: true });
      const b = session.queryRecompute(target, { attention: true });
      assert.ok(maxAbsDiff(a.logits, b.logits) <= 1e-5, `${name} (${attention}) step ${step}`);
      assert.equal(a.attention.length, session.size);
      assert.ok(maxAbsDiff(a.attention, b.attention) <= 1e-6);
      session.append(randomVector(dim, step + 1));
    }
    session.dispose();
    model.dispose();
  }
});

test('malformed weights give a ModelFormatError that says what is wrong', async () => {
  const good = read(weightPairs(fixturesDir)[0].weights);
  await assert.rejects(IciiaModel.load(good.slice(0, 5)), (e) => e instanceof ModelFormatError && /8/.test(e.message));
  await assert.rejects(IciiaModel.load(good.slice(0, good.length - 7)), ModelFormatError);
  // An io file is a valid safetensors file but not ICIIA weights.
  const io = read(weightPairs(fixturesDir)[0].io);
  await assert.rejects(IciiaModel.load(io), (e) => e instanceof ModelFormatError && /format/.test(e.message));
  await assert.rejects(IciiaModel.load('weights.safetensors'), TypeError);
});

test('bad features throw a typed error and leave the history intact', async () => {
  const model = await IciiaModel.load(read(weightPairs(fixturesDir)[0].weights));
  const session = await IciiaSession.create(model, { capacity: 4 });
  const dim = model.config.dim;
  session.append(randomVector(dim, 1));
  const before = session.query(randomVector(dim, 2)).logits;
  assert.throws(
    () => session.append(new Float32Array(dim + 1)),
    (e) => e instanceof InvalidArgumentError && e instanceof TypeError && e.message.includes(`expects dim = ${dim}`),
  );
  const nan = randomVector(dim, 3);
  nan[1] = NaN;
  assert.throws(() => session.query(nan), /not finite/);
  assert.throws(() => session.append('abc'), TypeError);
  await assert.rejects(IciiaSession.create(model, { capacity: 0 }), InvalidArgumentError);
  await assert.rejects(IciiaSession.create({}), TypeError);
  assert.equal(session.size, 1);
  assert.deepEqual(session.query(randomVector(dim, 2)).logits, before);
  session.dispose();
  assert.throws(() => session.query(randomVector(dim, 2)), DisposedError);
  model.dispose();
  assert.throws(() => model.forward(randomVector(dim, 1), 1), DisposedError);
});

test('a session outlives the disposal of its model', async () => {
  const model = await IciiaModel.load(read(weightPairs(fixturesDir)[0].weights));
  const session = await IciiaSession.create(model, { capacity: 3 });
  const dim = model.config.dim;
  const before = session.query(randomVector(dim, 5)).logits;
  model.dispose();
  assert.deepEqual(session.query(randomVector(dim, 5)).logits, before);
  session.dispose();
});
