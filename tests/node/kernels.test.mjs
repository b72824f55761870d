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
