#!/usr/bin/env bash
# Preprocessing a camera frame, fast path vs scalar reference: natively and in
# the wasm build under Node, one after the other. Prints markdown tables and
# the machine's load (other processes on the machine slow both columns).
#   tests/bench/preprocess.sh [--reps N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/env.sh
cmake --build build/native -j"$JOBS" --target iciia_bench_preprocess >/dev/null
cmake --build build/wasm -j"$JOBS" --target iciia_bench_preprocess >/dev/null
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; node $(node --version)"
echo "load before: $(uptime | sed 's/.*load average/load average/')"
./build/native/iciia_bench_preprocess "$@"
node --no-experimental-fetch build/wasm/iciia_bench_preprocess.js "$@"
echo "load after: $(uptime | sed 's/.*load average/load average/')"
