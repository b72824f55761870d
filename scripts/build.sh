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

# One glue per environment, one binary for both (wasm/CMakeLists.txt): the
# environment must not have changed a byte of the WebAssembly.
if ! cmp -s build/wasm/iciia_core.wasm build/wasm/iciia_core.node.wasm; then
  echo "build: iciia_core.wasm and iciia_core.node.wasm differ; the package ships one binary for both" >&2
  exit 1
fi
mkdir -p web/wasm
cp -u build/wasm/iciia_core.mjs build/wasm/iciia_core.wasm build/wasm/iciia_core.node.mjs web/wasm/
# The design the package's documentation cites ships inside it.
mkdir -p web/docs
cp -u docs/design.md web/docs/design.md
(cd web && npx --no-install tsc -p tsconfig.json)
echo "build: native in build/native, wasm in build/wasm, package in web/"
