#!/usr/bin/env bash
# Runs every test: native GoogleTest suites (ctest), Node tests of the wasm
# build (node --test), browser tests of the demo and the package in headless
# Chromium and Firefox (node --test), the package's tarball in consumer apps built by
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
# skips, saying why, only when its browser or driver is missing).
for engine in chromium firefox; do
  echo "== browser tests (node --test, headless $engine)"
  ICIIA_BROWSER=$engine node --test tests/browser/
done

echo "== consumer apps from the packed tarball (Vite, webpack, esbuild; node --test, headless chromium)"
node --test tests/consumers/

echo "== fuzzing (${FUZZ_SECONDS:=30} s per harness)"
FUZZ_SECONDS="$FUZZ_SECONDS" tests/fuzz/run_fuzz.sh
