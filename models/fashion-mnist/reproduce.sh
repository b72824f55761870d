#!/usr/bin/env bash
# Rebuilds this bundle from nothing: installs what is missing (scripts/setup.sh),
# builds the native tool, trains the backbone on the 60 000 Fashion-MNIST
# training images (half of them under random appearance styles), extracts
# features of both splits and of 2 000 training images under 32 styles with
# the core engine, trains ICIIA-B (causal attention, L = 2) on a mixture of
# client kinds, and writes the bundle here. Every step is seeded; the figures
# printed are those in README.md. Budget: < 30 min on 2 cores (the step
# times are printed).
#
#   models/fashion-mnist/reproduce.sh            # into models/fashion-mnist
#   OUT=/tmp/fm models/fashion-mnist/reproduce.sh
#   BACKBONE=models/fashion-mnist/backbone.onnx models/fashion-mnist/reproduce.sh
#       # skips the backbone's training (the longest step) and starts from
#       # this file; the train-backbone step reproduces it byte for byte
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
if [ -n "${BACKBONE:-}" ]; then
  cmp -s "$BACKBONE" "$WORK/backbone.onnx" || cp "$BACKBONE" "$WORK/backbone.onnx"
  step "backbone taken from $BACKBONE"
else
  "$ICIIA" train-backbone --data fashion-mnist --seed "$SEED" --epochs 10 --style-augment 0.5 --out "$WORK/backbone.onnx"
  step "train-backbone"
fi

for split in train test; do
  "$ICIIA" extract --model "$WORK/backbone.onnx" --data "fashion-mnist:$split" --out "$WORK/$split.safetensors"
done
# What the style, mixed and repeats clients of the training mixture draw from.
"$ICIIA" extract --model "$WORK/backbone.onnx" --data fashion-mnist:train \
  --styles 32 --style-images 2000 --style-seed 2 --out "$WORK/train-styled.safetensors"
step "extract"

# The mixture and the variant were chosen by `iciia eval` (docs/accuracy.md).
"$ICIIA" train --features "$WORK/train.safetensors" --styled "$WORK/train-styled.safetensors" \
  --groups models/groups/fashion-mnist.txt --mix "k=1-6:6,groups:1,style:1,mixed:1,repeats:1" \
  --out "$WORK/iciia.safetensors" --preset B --attention causal --layers 2 --steps 1500 --seed "$SEED"
step "train (ICIIA-B)"

# Fashion-MNIST's training set is balanced: the source prior is uniform (the
# committed manifest has none), not measured on the test split.
"$ICIIA" bundle --backbone "$WORK/backbone.onnx" --iciia "$WORK/iciia.safetensors" \
  --samples 400 --data fashion-mnist:test --source-prior uniform --seed "$SEED" --capacity 64 \
  --name "Fashion-MNIST: compact CNN + ICIIA-B" --out "$OUT"
step "bundle"

echo "reproduce: wall time $(( $(date +%s) - start )) s"
