#!/usr/bin/env bash
# Builds everything: native (build/native), WebAssembly (build/wasm), and the
# web package (web/dist, web/wasm). Incremental: fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/native -j"$JOBS"

if [ ! -f build/wasm/CMakeCache.txt ]; then
  emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build build/wasm -j"$JOBS"

mkdir -p web/wasm
cp -u build/wasm/iciia_core.mjs build/wasm/iciia_core.wasm web/wasm/
(cd web && npx --no-install tsc -p tsconfig.json)
echo "build: native in build/native, wasm in build/wasm, package in web/"
