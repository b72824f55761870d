// The SIMD kernels against their scalar references in the wasm build: the
// native GoogleTest suites kernels_test.cpp and conv_kernels_test.cpp compiled
// to WebAssembly SIMD128 (build/wasm/iciia_kernel_tests.js), run under Node.
// Natively the same suites only exercise vec.h's SSE2 path.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { repoRoot } from './helpers.mjs';

const binary = join(repoRoot, 'build', 'wasm', 'iciia_kernel_tests.js');

test('kernel-vs-reference sweeps pass in WebAssembly SIMD128', (t) => {
  if (!existsSync(binary)) return t.skip(`${binary} not built (needs Debian's googletest sources)`);
  // The 3.1.6 glue would try fetch() on a file path under Node 18+.
  const r = spawnSync(process.execPath, ['--no-experimental-fetch', binary], { encoding: 'utf8', timeout: 300_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  const passed = /\[  PASSED  \] (\d+) tests?/.exec(out);
  const failed = out.split('\n').filter((l) => l.startsWith('[  FAILED  ]'));
  t.diagnostic(passed ? `${passed[1]} kernel tests passed in wasm` : out.slice(-2000));
  assert.equal(failed.length, 0, failed.join('\n'));
  assert.equal(r.status, 0, `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}:\n${out.slice(-2000)}`);
  assert.ok(passed && Number(passed[1]) >= 50, 'gtest reported no passing suite');
  assert.match(out, /wasmsimd/, 'the binary did not run the SIMD128 path');
});

// Preprocessing must give the same bits in both builds (README: native and
// wasm outputs are identical). Both builds run the same 60 random cases
// (tests/native/preprocess_fast_test.cpp) and print a digest of the outputs.
const nativeTests = join(repoRoot, 'build', 'native', 'tests', 'native', 'iciia_tests');
const digestOf = (out) => /\[ preprocess \] digest ([0-9a-f]{16}) over (\d+) cases/.exec(out);

test('preprocessing is bit-identical in the native and wasm builds', (t) => {
  if (!existsSync(binary)) return t.skip(`${binary} not built (needs Debian's googletest sources)`);
  if (!existsSync(nativeTests)) return t.skip(`${nativeTests} not built (scripts/build.sh)`);
  const filter = '--gtest_filter=PreprocessFast.MatchesReferenceBitForBit';
  const wasm = spawnSync(process.execPath, ['--no-experimental-fetch', binary, filter], { encoding: 'utf8', timeout: 120_000 });
  const native = spawnSync(nativeTests, [filter], { encoding: 'utf8', timeout: 120_000 });
  const [w, n] = [wasm, native].map((r) => digestOf(`${r.stdout}\n${r.stderr}`));
  assert.equal(wasm.status, 0, `wasm run failed:\n${wasm.stdout.slice(-2000)}`);
  assert.equal(native.status, 0, `native run failed:\n${native.stdout.slice(-2000)}`);
  assert.ok(w && n, `no digest printed:\n${wasm.stdout.slice(-500)}\n${native.stdout.slice(-500)}`);
  t.diagnostic(`digest ${w[1]} over ${w[2]} cases in both builds`);
  assert.equal(w[2], n[2], 'the builds ran different case counts');
  assert.equal(w[1], n[1], 'native and wasm preprocessing outputs differ');
});
