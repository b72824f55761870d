#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan) and runs each of them:
# fuzz_safetensors, fuzz_onnx, fuzz_engine, then fuzz_history.
#   tests/fuzz/run_fuzz.sh              # 60 s per harness
#   FUZZ_SECONDS=600 tests/fuzz/run_fuzz.sh
# Exits non-zero if a fuzzer finds a crash; the reproducer is left in
# build/fuzz/artifacts/ (re-run it with: build/fuzz/tests/fuzz/fuzz_<name> FILE).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="$root/build/fuzz"
seconds="${FUZZ_SECONDS:-60}"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DICIIA_FUZZ=ON -DICIIA_FUZZ_ONLY=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target fuzz_safetensors fuzz_onnx fuzz_engine fuzz_history

fuzzer="$build/tests/fuzz/fuzz_safetensors"
corpus="$build/corpus_safetensors"
artifacts="$build/artifacts"
mkdir -p "$corpus" "$artifacts"

# Seeds: the project's small safetensors fixtures ...
if [ -d "$root/tests/fixtures" ]; then
  find "$root/tests/fixtures" -name '*.safetensors' -size -64k -print0 |
    while IFS= read -r -d '' f; do cp "$f" "$corpus/fixture_$(basename "$f")"; done
fi

# ... plus a few hand-written files. seed NAME HEADER DATA: DATA is a printf
# format (\xNN escapes); the 8-byte little-endian length is computed here.
seed() {
  local len=${#2}
  printf "$(printf '\\x%02x\\x%02x\\x00\\x00\\x00\\x00\\x00\\x00' $((len & 255)) $((len >> 8)))" >"$corpus/$1"
  printf '%s' "$2" >>"$corpus/$1"
  printf "$3" >>"$corpus/$1"
}
seed empty '{}      ' ''
seed f32 '{"__metadata__":{"format":"iciia/1","dim":"2"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' \
  '\x00\x00\x80\x3f\x00\x00\x00\xc0'
seed halves '{"h":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}}   ' \
  '\x00\x3c\x01\x00\x80\x3f\xc0\x7f'
seed mixed '{"d":{"dtype":"F64","shape":[],"data_offsets":[0,8]},"i":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},"z":{"dtype":"U8","shape":[0,3],"data_offsets":[12,12]},"q":{"dtype":"BOOL","shape":[2],"data_offsets":[12,14]}}' \
  '\x00\x00\x00\x00\x00\x00\xf8\x3f\xd6\xff\xff\xff\x01\x00'

# Dictionary of the header's vocabulary.
dict="$build/safetensors.dict"
cat >"$dict" <<'DICT'
"__metadata__"
"dtype"
"shape"
"data_offsets"
"\"F64\""
"\"F32\""
"\"F16\""
"\"BF16\""
"\"I64\""
"\"I32\""
"\"I16\""
"\"I8\""
"\"U8\""
"\"BOOL\""
"\"U16\""
"{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"
"[0,0]"
"18446744073709551615"
"9223372036854775807"
"4294967296"
"\\u0000"
"\\ud800"
DICT

# run_harness NAME CORPUS [extra libFuzzer flags...]
run_harness() {
  local name=$1 dir=$2
  shift 2
  echo "fuzzing $name for ${seconds}s; corpus: $dir ($(ls "$dir" | wc -l) files)"
  local status=0
  # A fixed seed (FUZZ_SEED, default 1; 0 = random) makes a run a prefix of
  # the same input sequence, so CI repeats what was run here, only shorter.
  "$build/tests/fuzz/$name" "$dir" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -artifact_prefix="$artifacts/" \
    -print_final_stats=1 -rss_limit_mb=2048 "$@" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "$name FAILED (exit $status); reproducers in $artifacts:" >&2
    ls -l "$artifacts" >&2 || true
    exit "$status"
  fi
  echo "$name: no findings in ${seconds}s"
}

run_harness fuzz_safetensors "$corpus" -dict="$dict"

# ONNX: seeds are small models the project's writer made (tests/fuzz/seeds_onnx).
onnx_corpus="$build/corpus_onnx"
mkdir -p "$onnx_corpus"
cp "$root"/tests/fuzz/seeds_onnx/*.onnx "$onnx_corpus/"
run_harness fuzz_onnx "$onnx_corpus" -max_len=65536

# The whole engine (load, run, read): the ONNX seeds, small models of what the
# engine runs (tests/fuzz/seeds_engine, written by fuzz_engine itself, see its
# header), and the regression inputs of fixed findings (tests/fuzz/crash_*.onnx).
engine_corpus="$build/corpus_engine"
mkdir -p "$engine_corpus"
cp "$root"/tests/fuzz/seeds_onnx/*.onnx "$root"/tests/fuzz/seeds_engine/*.onnx "$engine_corpus/"
# ... and the per-op test models of the native build (tests/models), when built.
if [ -x "$root/build/native/iciia_make_test_models" ]; then
  "$root/build/native/iciia_make_test_models" "$build/test_models" >/dev/null
  for f in "$build"/test_models/*.onnx; do cp "$f" "$engine_corpus/model_$(basename "$f")"; done
fi
for f in "$root"/tests/fuzz/crash_*.onnx; do
  if [ -e "$f" ]; then cp "$f" "$engine_corpus/"; fi
done
# Dictionary: the op types of the op table and the attribute names and
# values its entries list, written by the harness itself.
engine_dict="$build/engine.dict"
ICIIA_FUZZ_WRITE_DICT="$engine_dict" "$build/tests/fuzz/fuzz_engine" >/dev/null
# -timeout: one input must not take seconds (the run-cost bound keeps a run
# to milliseconds); a slower one is reported as a hang.
run_harness fuzz_engine "$engine_corpus" -max_len=65536 -dict="$engine_dict" -timeout=10

# History records, heads, exports, store loads, manifests: seeds written by
# the harness itself (valid records need a valid CRC), see its header.
history_corpus="$build/corpus_history"
mkdir -p "$history_corpus"
cp "$root"/tests/fuzz/seeds_history/* "$history_corpus/"
run_harness fuzz_history "$history_corpus" -max_len=4096
