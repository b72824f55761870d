#include "kernels/activation.h"

namespace iciia::kernels {

using namespace vec;

const char* act_kind_name(ActKind kind) {
  switch (kind) {
    case ActKind::kNone: return "none";
    case ActKind::kRelu: return "relu";
    case ActKind::kClip: return "clip";
    case ActKind::kHardSwish: return "hardswish";
    case ActKind::kHardSigmoid: return "hardsigmoid";
    case ActKind::kSigmoid: return "sigmoid";
    case ActKind::kSilu: return "silu";
  }
  return "?";
}

namespace detail {

f32x4 activate_vector(const Epilogue& ep, f32x4 v) {
  switch (ep.kind) {
    case ActKind::kNone: return v;
    case ActKind::kRelu: return max(v, zero());
    case ActKind::kClip: return min(max(v, splat(ep.p0)), splat(ep.p1));
    case ActKind::kHardSwish:
      return mul(v, min(max(madd(splat(0.5f), v, splat(1.f / 6.f)), zero()), splat(1.f)));
    case ActKind::kHardSigmoid: return min(max(madd(splat(ep.p1), v, splat(ep.p0)), zero()), splat(1.f));
    case ActKind::kSigmoid: return sigmoid(v);
    case ActKind::kSilu: return mul(v, sigmoid(v));
  }
  return v;
}

}  // namespace detail

void apply_activation(const Epilogue& ep, const float* x, const float* residual, float* y, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    f32x4 v[4];
    for (int j = 0; j < 4; ++j) v[j] = load(x + i + 4 * j);
    if (residual)
      for (int j = 0; j < 4; ++j) v[j] = add(v[j], load(residual + i + 4 * j));
    detail::activate_tile<4>(ep, v);
    for (int j = 0; j < 4; ++j) store(y + i + 4 * j, v[j]);
  }
  for (; i < n; i += 4) {
    const int m = n - i < 4 ? static_cast<int>(n - i) : 4;
    f32x4 v[1] = {load_partial(x + i, m)};
    if (residual) v[0] = add(v[0], load_partial(residual + i, m));
    detail::activate_tile<1>(ep, v);
    store_partial(y + i, v[0], m);
  }
}

void apply_activation(const Epilogue& ep, float* x, size_t n) { apply_activation(ep, x, nullptr, x, n); }

}  // namespace iciia::kernels
