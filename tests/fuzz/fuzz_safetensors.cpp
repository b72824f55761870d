// libFuzzer harness for the safetensors reader (and, on what it accepts, the
// writer). Any exception other than iciia::Error, any sanitizer report and
// any broken invariant below is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "safetensors/safetensors.h"
#include "util/error.h"

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz_safetensors: invariant broken: %s %s\n", what, detail.c_str());
  std::abort();
}

bool is_float(iciia::SafetensorsDType d) {
  return d == iciia::SafetensorsDType::kF32 || d == iciia::SafetensorsDType::kF16 || d == iciia::SafetensorsDType::kBF16 || d == iciia::SafetensorsDType::kF64;
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iciia;
  SafetensorsLimits limits;
  limits.max_header_bytes = 1 << 16;
  limits.max_tensors = 64;
  limits.max_rank = 8;
  limits.max_tensor_bytes = 1 << 20;
  limits.max_metadata_entries = 64;

  Safetensors st;
  try {
    st = Safetensors::parse(std::span<const uint8_t>(data, size), limits);
  } catch (const Error&) {
    return 0;  // rejected cleanly
  }

  // Everything below runs on input the parser accepted and must not throw.
  try {
    SafetensorsWriter w;
    for (const auto& [k, v] : st.metadata()) w.set_metadata(k, v);
    std::vector<std::vector<float>> converted;
    for (const TensorInfo& t : st.tensors()) {
      if (st.find(t.name) != &t) finding("find() does not return the tensor", t.name);
      if (t.begin > t.end || t.end - t.begin > limits.max_tensor_bytes) finding("bad offsets", t.name);
      if (t.shape.size() > limits.max_rank) finding("rank above limit", t.name);
      const auto raw = st.bytes(t);
      if (raw.size() != static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype)) finding("bytes() size", t.name);
      volatile uint8_t sink = 0;
      for (uint8_t b : raw) sink = sink ^ b;  // touch every byte (ASan checks the range)
      (void)sink;
      if (!is_float(t.dtype)) {
        try {
          (void)st.to_f32(t);
          finding("to_f32 accepted a non-float dtype", t.name);
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kUnsupported) finding("to_f32 wrong error code", e.what());
        }
        continue;
      }
      std::vector<float> f = st.to_f32(t);
      if (f.size() != static_cast<size_t>(t.numel())) finding("to_f32 size", t.name);
      w.add_f32(t.name, t.shape, f);
      converted.push_back(std::move(f));
    }

    // Writer -> parser round trip of the float tensors, bit for bit.
    const std::vector<uint8_t> out = w.serialize();
    // Default limits: F16/BF16 tensors double in size when rewritten as F32.
    const Safetensors back = Safetensors::parse(out);
    if (back.metadata() != st.metadata()) finding("metadata round trip");
    size_t i = 0;
    for (const TensorInfo& t : st.tensors()) {
      if (!is_float(t.dtype)) continue;
      const TensorInfo& u = back.get(t.name);
      if (u.shape != t.shape || u.dtype != SafetensorsDType::kF32) finding("shape/dtype round trip", t.name);
      const std::vector<float> g = back.to_f32(u);
      const std::vector<float>& f = converted[i++];
      if (g.size() != f.size()) finding("size round trip", t.name);
      for (size_t j = 0; j < f.size(); ++j)
        if (bits(g[j]) != bits(f[j])) finding("value round trip", t.name);
    }
    if (back.tensors().size() != converted.size()) finding("tensor count round trip");
  } catch (const Error& e) {
    finding("iciia::Error on accepted input", e.what());
  }
  return 0;
}
