#!/usr/bin/env bash
# Reproduces docs/accuracy.md: `iciia eval` on the Fashion-MNIST and MNIST
# features of the project's backbones (iciia extract writes them; see
# models/), three seeds, every module retrained per seed, every client kind
# (k = 1..6 classes, look-alike groups, repeats, style, mixed) and every
# baseline (EM prior correction ML/MAP, T3A, LAME) on the same episodes.
#   scripts/accuracy.sh [FEATURES_DIR]   (default build/data: DIR/fashion-mnist/{train,test}.safetensors
#                                         and DIR/fashion-mnist/backbone.onnx, DIR/mnist/... likewise)
#   EPISODES=2000 DATASETS="fashion-mnist mnist" scripts/accuracy.sh
# Writes the styled test sets (DIR/NAME/test-styled.safetensors, once) and
# docs/accuracy-NAME.{md,png}; docs/accuracy.md quotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-build/data}"
episodes="${EPISODES:-2000}"
cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/native -j"${JOBS:-2}" --target iciia

run() {  # name title extra-args...
  local name="$1" title="$2"
  shift 2
  # Repeats, style and mixed clients draw from 1000 test images under 32
  # styles, run through the backbone (src/train/data/style.h).
  if [ ! -f "$data/$name/test-styled.safetensors" ]; then
    build/native/iciia extract --model "$data/$name/backbone.onnx" --data "$name:test" \
      --styles 32 --style-images 1000 --style-seed 1 --out "$data/$name/test-styled.safetensors"
  fi
  build/native/iciia eval --train "$data/$name/train.safetensors" --test "$data/$name/test.safetensors" \
    --styled "$data/$name/test-styled.safetensors" --seeds 1,2,3 --episodes "$episodes" --title "$title" \
    --report "docs/accuracy-$name.md" --plot "docs/accuracy-$name.png" "$@"
}
for name in ${DATASETS:-fashion-mnist mnist}; do
  case "$name" in
    fashion-mnist)
      run fashion-mnist "Fashion-MNIST" --groups models/groups/fashion-mnist.txt \
        --kinds k=1,k=2,k=3,k=4,k=5,k=6,groups,repeats,style,mixed ;;
    mnist)
      run mnist "MNIST" --kinds k=1,k=2,k=3,k=4,k=5,k=6,repeats,style,mixed ;;
  esac
done
