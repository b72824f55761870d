// The activations straight from the ONNX operator definitions, in double
// where it costs nothing, as the anchor for the vectorised epilogues.
#include <algorithm>
#include <cmath>

#include "kernels/activation.h"

namespace iciia::kernels::ref {

float activate(const Epilogue& ep, float x) {
  switch (ep.kind) {
    case ActKind::kNone: return x;
    case ActKind::kRelu: return std::max(x, 0.f);
    case ActKind::kClip: return std::min(std::max(x, ep.p0), ep.p1);
    case ActKind::kHardSwish: return x * std::max(0.f, std::min(1.f, x / 6.f + 0.5f));
    case ActKind::kHardSigmoid: return std::max(0.f, std::min(1.f, ep.p0 * x + ep.p1));
    case ActKind::kSigmoid: return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x))));
    case ActKind::kSilu: return static_cast<float>(x / (1.0 + std::exp(-static_cast<double>(x))));
  }
  return x;
}

void apply_activation(const Epilogue& ep, float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = activate(ep, x[i]);
}

}  // namespace iciia::kernels::ref
