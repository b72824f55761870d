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
# environment must not have changed a byte of the WebAssembly. Same for the
# threads build.
for pair in "iciia_core.wasm iciia_core.node.wasm" "iciia_core.mt.wasm iciia_core.mt.node.wasm"; do
  set -- $pair
  if ! cmp -s "build/wasm/$1" "build/wasm/$2"; then
    echo "build: $1 and $2 differ; the package ships one binary for both environments" >&2
    exit 1
  fi
done
mkdir -p web/wasm
cp -u build/wasm/iciia_core.mjs build/wasm/iciia_core.wasm build/wasm/iciia_core.node.mjs \
  build/wasm/iciia_core.mt.mjs build/wasm/iciia_core.mt.wasm build/wasm/iciia_core.mt.worker.js \
  build/wasm/iciia_core.mt.node.mjs web/wasm/
# The threads glue names its worker script by new URL(..., import.meta.url)
# for when no locateFile is given; the loader always gives one. webpack would
# follow that reference, parse the worker script as a module and warn twice
# (an import() of an expression, a chunk cycle), so it is told to ignore it.
sed -i 's#new URL("iciia_core.mt.worker.js",import.meta.url)#new URL(/* webpackIgnore: true */"iciia_core.mt.worker.js",import.meta.url)#' \
  web/wasm/iciia_core.mt.mjs
grep -q 'webpackIgnore: true \*/"iciia_core.mt.worker.js"' web/wasm/iciia_core.mt.mjs ||
  { echo "build: the threads glue no longer names its worker as expected (webpackIgnore not applied)" >&2; exit 1; }
# The worker script's text as a module, for a page where the script is not
# served as a classic script of the page's origin (web/src/platform_browser.ts:
# a Vite build inlines it as a data: URL, Vite's dev server rewrites it into
# an ES module, another bundler may drop it).
node -e 'const fs = require("fs"); const [src, out] = process.argv.slice(1);
  fs.writeFileSync(out, "// The text of iciia_core.mt.worker.js, written by scripts/build.sh.\nexport default " +
    JSON.stringify(fs.readFileSync(src, "utf8")) + ";\n");' web/wasm/iciia_core.mt.worker.js web/wasm/iciia_core.mt.worker.text.mjs
# Node runs the pthread worker script as CommonJS only under a .cjs name
# inside this "type": "module" package (web/src/platform_node.ts).
cp -u build/wasm/iciia_core.mt.node.worker.js web/wasm/iciia_core.mt.node.worker.cjs
# The design the package's documentation cites ships inside it.
mkdir -p web/docs
cp -u docs/design.md web/docs/design.md
(cd web && npx --no-install tsc -p tsconfig.json)
echo "build: native in build/native, wasm in build/wasm, package in web/"
