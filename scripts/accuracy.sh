#!/usr/bin/env bash
# Reproduces the issue-10 tables of docs/accuracy.md: `iciia eval` on the
# features of the project's backbones, three seeds, every client kind (k =
# 1..6 and 10 classes, look-alike groups, repeats, style, mixed) and every
# training-free baseline (EM prior correction ML/MAP, T3A, LAME) on the same
# episodes, for two modules:
#   B-causal  the shipped recipe: ICIIA-B causal, L = 2, 1500 steps on a
#             mixture of client kinds (models/fashion-mnist/reproduce.sh's
#             train step; for Fashion-MNIST the bundle's own file)
#   B-full    the previous bundle's recipe, as an ablation of the mixture:
#             ICIIA-B full, L = 1, 577 steps on clean 2-3-class clients
# each also with prior correction on its output ("+ prior").
#   scripts/accuracy.sh [FEATURES_DIR]     (default build/data)
#   EPISODES=1000 DATASETS="fashion-mnist mnist" scripts/accuracy.sh
# Fashion-MNIST needs DIR/fashion-mnist/{backbone.onnx,train,test,
# train-styled}.safetensors (reproduce.sh writes them); for MNIST, which has no
# bundle, the backbone is trained here (style-augmented as Fashion-MNIST's,
# about 4 minutes). Writes what is missing, then docs/accuracy-NAME.{md,png}.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-build/data}"
episodes="${EPISODES:-1000}"
cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/native -j"${JOBS:-2}" --target iciia
ICIIA=build/native/iciia

run() {  # name title kinds mix extra-args...
  local name="$1" title="$2" kinds="$3" mix="$4" dir="$data/$1"
  shift 4
  mkdir -p "$dir"
  [ -f "$dir/backbone.onnx" ] ||
    "$ICIIA" train-backbone --data "$name" --seed 1 --epochs 10 --style-augment 0.5 --out "$dir/backbone.onnx"
  for split in train test; do
    [ -f "$dir/$split.safetensors" ] ||
      "$ICIIA" extract --model "$dir/backbone.onnx" --data "$name:$split" --out "$dir/$split.safetensors"
  done
  # Styled sets (src/train/data/style.h): 2000 training images x 32 styles for
  # the mixture's style, mixed and repeats clients; 1000 test images x 32
  # other styles for the evaluation's.
  [ -f "$dir/train-styled.safetensors" ] ||
    "$ICIIA" extract --model "$dir/backbone.onnx" --data "$name:train" \
      --styles 32 --style-images 2000 --style-seed 2 --out "$dir/train-styled.safetensors"
  [ -f "$dir/test-styled.safetensors" ] ||
    "$ICIIA" extract --model "$dir/backbone.onnx" --data "$name:test" \
      --styles 32 --style-images 1000 --style-seed 1 --out "$dir/test-styled.safetensors"
  [ -f "$dir/iciia.safetensors" ] ||
    "$ICIIA" train --features "$dir/train.safetensors" --styled "$dir/train-styled.safetensors" "$@" \
      --mix "$mix" --out "$dir/iciia.safetensors" --preset B --attention causal --layers 2 --steps 1500 --seed 1
  [ -f "$dir/iciia-clean-full-l1.safetensors" ] ||
    "$ICIIA" train --features "$dir/train.safetensors" --out "$dir/iciia-clean-full-l1.safetensors" \
      --preset B --attention full --layers 1 --steps 577 --seed 1
  "$ICIIA" eval --test "$dir/test.safetensors" --styled "$dir/test-styled.safetensors" --kinds "$kinds" \
    --seeds 1,2,3 --episodes "$episodes" \
    --weights "B-causal=$dir/iciia.safetensors" --weights "B-full=$dir/iciia-clean-full-l1.safetensors" \
    --skip ff --skip T-full --skip T-causal \
    --title "$title" --report "docs/accuracy-$name.md" --plot "docs/accuracy-$name.png" "$@"
}
for name in ${DATASETS:-fashion-mnist}; do
  case "$name" in
    fashion-mnist)
      run fashion-mnist "Fashion-MNIST" k=1,k=2,k=3,k=4,k=5,k=6,k=10,groups,repeats,style,mixed \
        "k=1-6:6,groups:1,style:1,mixed:1,repeats:1" --groups models/groups/fashion-mnist.txt ;;
    mnist)
      run mnist "MNIST" k=1,k=2,k=3,k=4,k=5,k=6,k=10,repeats,style,mixed "k=1-6:6,style:1,mixed:1,repeats:1" ;;
  esac
done
