#!/usr/bin/env bash
# Runs every test: native GoogleTest suites (ctest), Node tests of the wasm
# build (node --test), browser tests of the demo and the package in headless
# Chromium and Firefox and in WebKit on a virtual display (node --test), the package's tarball in consumer apps built by
# Vite, webpack and esbuild (node --test), and a bounded libFuzzer run of
# each parser.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
source scripts/env.sh

echo "== native tests (ctest)"
ctest --test-dir build/native --output-on-failure -j"$JOBS"

echo "== wasm tests (node --test)"
node --test tests/node/

# The same browser tests in each engine (tests/browser/harness.mjs; each
# skips, saying why, only when its browser or driver is missing), each
# engine's time printed.
for engine in chromium firefox webkit; do
  echo "== browser tests (node --test, $engine)"
  start=$SECONDS
  ICIIA_BROWSER=$engine node --test tests/browser/
  echo "== browser tests in $engine: $((SECONDS - start)) s"
done

echo "== consumer apps from the packed tarball (Vite, webpack, esbuild; node --test, headless chromium)"
node --test tests/consumers/

# 20 s per harness: the browser suites of three engines take most of the
# 40-minute CI budget (about 37 min in all on 2 idle cores); longer runs are
# local (FUZZ_SECONDS=600 tests/fuzz/run_fuzz.sh).
echo "== fuzzing (${FUZZ_SECONDS:=20} s per harness)"
FUZZ_SECONDS="$FUZZ_SECONDS" tests/fuzz/run_fuzz.sh
