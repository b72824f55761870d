#!/usr/bin/env bash
# Cached ICIIA session vs full recompute, SIMD vs scalar projection: natively
# and in the wasm build under Node, one after the other (not in parallel, so
# they do not share memory bandwidth). Prints markdown tables.
#   tests/bench/iciia_session.sh [--quick] [--g 1|256] [projection|startup|query ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh >/dev/null
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; node $(node --version)"
./build/native/iciia_bench_session "$@"
node --no-experimental-fetch build/wasm/iciia_bench_session.js "$@"
