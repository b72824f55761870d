#!/usr/bin/env bash
# Rebuilds this bundle from nothing: installs what is missing (scripts/setup.sh),
# builds the native tool, trains the backbone on the 60 000 Fashion-MNIST
# training images, extracts features of both splits with the core engine,
# trains ICIIA-B (full attention, L = 1) on the training features, and writes
# the bundle here. Every step is seeded; the figures printed are those in
# README.md. Budget: < 30 min on 2 cores (the step times are printed).
#
#   models/fashion-mnist/reproduce.sh            # into models/fashion-mnist
#   OUT=/tmp/fm models/fashion-mnist/reproduce.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-models/fashion-mnist}
WORK=${WORK:-build/data/fashion-mnist}
SEED=${SEED:-1}
ICIIA=build/native/iciia
start=$(date +%s)
step_start=$start

step() {
  local now
  now=$(date +%s)
  echo "reproduce: $1 took $((now - step_start)) s (total $((now - start)) s)"
  step_start=$now
}

./scripts/setup.sh
cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/native -j2 --target iciia
step "setup and build"

mkdir -p "$WORK" "$OUT"
"$ICIIA" train-backbone --data fashion-mnist --seed "$SEED" --epochs 10 --out "$WORK/backbone.onnx"
step "train-backbone"

for split in train test; do
  "$ICIIA" extract --model "$WORK/backbone.onnx" --data "fashion-mnist:$split" --out "$WORK/$split.safetensors"
done
step "extract"

"$ICIIA" train --features "$WORK/train.safetensors" --out "$WORK/iciia.safetensors" \
  --preset B --attention full --layers 1 --steps 577 --seed "$SEED"
step "train (ICIIA-B)"

# Fashion-MNIST's training set is balanced: the source prior is uniform (the
# committed manifest has none), not measured on the test split.
"$ICIIA" bundle --backbone "$WORK/backbone.onnx" --iciia "$WORK/iciia.safetensors" \
  --samples 400 --data fashion-mnist:test --source-prior uniform --seed "$SEED" --capacity 64 \
  --name "Fashion-MNIST: compact CNN + ICIIA-B" --out "$OUT"
step "bundle"

echo "reproduce: wall time $(( $(date +%s) - start )) s"
