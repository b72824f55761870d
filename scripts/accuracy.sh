#!/usr/bin/env bash
# Reproduces docs/accuracy.md: `iciia eval` on the Fashion-MNIST and MNIST
# features of the project's backbones (iciia extract writes them; see
# models/), three seeds, every module retrained per seed.
#   scripts/accuracy.sh [FEATURES_DIR]   (default build/data: DIR/fashion-mnist/{train,test}.safetensors, DIR/mnist/...)
# Writes docs/accuracy-fashion-mnist.{md,png} and docs/accuracy-mnist.{md,png};
# docs/accuracy.md quotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-build/data}"
cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/native -j"${JOBS:-2}" --target iciia

run() {  # name title extra-args...
  local name="$1" title="$2"
  shift 2
  build/native/iciia eval --train "$data/$name/train.safetensors" --test "$data/$name/test.safetensors" \
    --seeds 1,2,3 --episodes 5000 --title "$title" \
    --report "docs/accuracy-$name.md" --plot "docs/accuracy-$name.png" "$@"
}
run fashion-mnist "Fashion-MNIST" --groups models/groups/fashion-mnist.txt
run mnist "MNIST"
