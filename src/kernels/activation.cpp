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

namespace {

template <class Op>
void apply_op(const Op& op, const float* x, const float* residual, float* y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    f32x4 v0 = load(x + i), v1 = load(x + i + 4);
    if (residual) {
      v0 = add(v0, load(residual + i));
      v1 = add(v1, load(residual + i + 4));
    }
    store(y + i, op(v0));
    store(y + i + 4, op(v1));
  }
  for (; i < n; i += 4) {
    const int m = n - i < 4 ? static_cast<int>(n - i) : 4;
    f32x4 v = load_partial(x + i, m);
    if (residual) v = add(v, load_partial(residual + i, m));
    store_partial(y + i, op(v), m);
  }
}

struct ActHardSigmoid {
  float alpha, beta;
  f32x4 operator()(f32x4 v) const { return min(max(madd(splat(beta), v, splat(alpha)), zero()), splat(1.f)); }
};
struct ActSigmoid {
  f32x4 operator()(f32x4 v) const { return detail::sigmoid(v); }
};
struct ActSilu {
  f32x4 operator()(f32x4 v) const { return mul(v, detail::sigmoid(v)); }
};

}  // namespace

void apply_activation(const Epilogue& ep, const float* x, const float* residual, float* y, size_t n) {
  switch (ep.kind) {
    case ActKind::kNone: apply_op(detail::ActIdentity(ep), x, residual, y, n); break;
    case ActKind::kRelu: apply_op(detail::ActRelu(ep), x, residual, y, n); break;
    case ActKind::kClip: apply_op(detail::ActClip(ep), x, residual, y, n); break;
    case ActKind::kHardSwish: apply_op(detail::ActHardSwish(ep), x, residual, y, n); break;
    case ActKind::kHardSigmoid: apply_op(ActHardSigmoid{ep.p0, ep.p1}, x, residual, y, n); break;
    case ActKind::kSigmoid: apply_op(ActSigmoid{}, x, residual, y, n); break;
    case ActKind::kSilu: apply_op(ActSilu{}, x, residual, y, n); break;
  }
}

void apply_activation(const Epilogue& ep, float* x, size_t n) { apply_activation(ep, x, nullptr, x, n); }

}  // namespace iciia::kernels
