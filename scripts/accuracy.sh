#!/usr/bin/env bash
# Reproduces the issue-10 tables of docs/accuracy.md: `iciia eval` on the
# features of the project's backbone (models/NAME/reproduce.sh writes them
# under build/data/NAME), three seeds, every client kind (k = 1..6 classes,
# look-alike groups, repeats, style, mixed) and every baseline (EM prior
# correction ML/MAP, T3A, LAME) on the same episodes, for two modules:
#   B-full    the bundle's module (ICIIA-B full, L = 1: reproduce.sh's train step)
#   B-causal  ICIIA-B causal, L = 2 (`iciia train` defaults, seed 1)
# each also with prior correction on its output ("+ prior").
#   scripts/accuracy.sh [FEATURES_DIR]     (default build/data)
#   EPISODES=1000 DATASETS="fashion-mnist mnist" scripts/accuracy.sh
# Needs DIR/NAME/{backbone.onnx,train.safetensors,test.safetensors}; writes
# what is missing of DIR/NAME/{test-styled,iciia,iciia-b-causal-l2}.safetensors,
# then docs/accuracy-NAME.{md,png}.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-build/data}"
episodes="${EPISODES:-1000}"
cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/native -j"${JOBS:-2}" --target iciia
ICIIA=build/native/iciia

run() {  # name title kinds extra-args...
  local name="$1" title="$2" kinds="$3" dir="$data/$1"
  shift 3
  # Repeats, style and mixed clients draw from 1000 test images under 32
  # styles, run through the backbone (src/train/data/style.h).
  [ -f "$dir/test-styled.safetensors" ] ||
    "$ICIIA" extract --model "$dir/backbone.onnx" --data "$name:test" \
      --styles 32 --style-images 1000 --style-seed 1 --out "$dir/test-styled.safetensors"
  # The bundle's module, as models/fashion-mnist/reproduce.sh trains it.
  [ -f "$dir/iciia.safetensors" ] ||
    "$ICIIA" train --features "$dir/train.safetensors" --out "$dir/iciia.safetensors" \
      --preset B --attention full --layers 1 --steps 577 --seed 1
  [ -f "$dir/iciia-b-causal-l2.safetensors" ] ||
    "$ICIIA" train --features "$dir/train.safetensors" --out "$dir/iciia-b-causal-l2.safetensors" \
      --preset B --attention causal --seed 1
  "$ICIIA" eval --test "$dir/test.safetensors" --styled "$dir/test-styled.safetensors" --kinds "$kinds" \
    --seeds 1,2,3 --episodes "$episodes" \
    --weights "B-full=$dir/iciia.safetensors" --weights "B-causal=$dir/iciia-b-causal-l2.safetensors" \
    --skip ff --skip T-full --skip T-causal \
    --title "$title" --report "docs/accuracy-$name.md" --plot "docs/accuracy-$name.png" "$@"
}
for name in ${DATASETS:-fashion-mnist}; do
  case "$name" in
    fashion-mnist)
      run fashion-mnist "Fashion-MNIST" k=1,k=2,k=3,k=4,k=5,k=6,groups,repeats,style,mixed \
        --groups models/groups/fashion-mnist.txt ;;
    mnist)
      run mnist "MNIST" k=1,k=2,k=3,k=4,k=5,k=6,repeats,style,mixed ;;
  esac
done
