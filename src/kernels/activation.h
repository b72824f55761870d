// What a convolution or GEMM fuses after its sum: the bias (always, packed
// into the weights), optionally a residual tensor of the output's shape
// (added before the activation, for ResNet / MobileNetV2 blocks), then one
// activation. The formulas are the ONNX operators':
//
//   kNone         x
//   kRelu         max(x, 0)
//   kClip         min(max(x, lo), hi)                  (relu6 = clip(0, 6))
//   kHardSwish    x * max(0, min(1, x / 6 + 1/2))
//   kHardSigmoid  max(0, min(1, alpha * x + beta))
//   kSigmoid      1 / (1 + e^-x)
//   kSilu         x * sigmoid(x)
//
// apply_activation() runs one over a row of floats with the vector layer; the
// inline detail:: helpers are what the conv / GEMM microkernels call in their
// stores. ref::activate() is the scalar definition the tests hold them to.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/vec.h"

namespace iciia::kernels {

enum class ActKind : uint8_t { kNone, kRelu, kClip, kHardSwish, kHardSigmoid, kSigmoid, kSilu };

struct Epilogue {
  ActKind kind = ActKind::kNone;
  float p0 = 0.f;  // clip: lo; hardsigmoid: alpha
  float p1 = 0.f;  // clip: hi; hardsigmoid: beta

  static Epilogue none() { return {}; }
  static Epilogue relu() { return {ActKind::kRelu, 0.f, 0.f}; }
  static Epilogue clip(float lo, float hi) { return {ActKind::kClip, lo, hi}; }
  static Epilogue relu6() { return clip(0.f, 6.f); }
  static Epilogue hardswish() { return {ActKind::kHardSwish, 0.f, 0.f}; }
  // ONNX defaults alpha 0.2, beta 0.5; PyTorch's Hardsigmoid exports 1/6, 1/2.
  static Epilogue hardsigmoid(float alpha = 0.2f, float beta = 0.5f) { return {ActKind::kHardSigmoid, alpha, beta}; }
  static Epilogue sigmoid() { return {ActKind::kSigmoid, 0.f, 0.f}; }
  static Epilogue silu() { return {ActKind::kSilu, 0.f, 0.f}; }
};

const char* act_kind_name(ActKind kind);

// x[i] = act(x[i]) for i < n, in place.
void apply_activation(const Epilogue& ep, float* x, size_t n);
// y[i] = act(x[i] + residual[i]) (residual may be null); y may alias x or residual.
void apply_activation(const Epilogue& ep, const float* x, const float* residual, float* y, size_t n);

namespace ref {
float activate(const Epilogue& ep, float x);
void apply_activation(const Epilogue& ep, float* x, size_t n);
}  // namespace ref

namespace detail {

#if defined(__GNUC__)
#define ICIIA_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ICIIA_ALWAYS_INLINE inline
#endif

// sigmoid through e^-|x| (never overflows): 1/(1+e) for x >= 0, e/(1+e) below.
inline vec::f32x4 sigmoid(vec::f32x4 x) {
  using namespace vec;
  const f32x4 e = vec::exp(sub(zero(), vec::abs(x)));
  const f32x4 q = div(splat(1.f), add(splat(1.f), e));
  return select(lt(x, zero()), mul(e, q), q);
}

// Any activation on one vector, out of line (the exp-based ones are long).
vec::f32x4 activate_vector(const Epilogue& ep, vec::f32x4 v);

// The activation over N vectors with one dispatch: what a microkernel's store
// calls on its accumulator tile. Always inlined, and the tile only ever
// passed on by value, so the accumulators stay in registers through the
// microkernel's loop (an escaping array would be stored on every k step).
template <int N>
ICIIA_ALWAYS_INLINE void activate_tile(const Epilogue& ep, vec::f32x4 (&v)[N]) {
  using namespace vec;
  switch (ep.kind) {
    case ActKind::kNone: break;
    case ActKind::kRelu:
      for (int i = 0; i < N; ++i) v[i] = max(v[i], zero());
      break;
    case ActKind::kClip: {
      const f32x4 lo = splat(ep.p0), hi = splat(ep.p1);
      for (int i = 0; i < N; ++i) v[i] = min(max(v[i], lo), hi);
      break;
    }
    case ActKind::kHardSwish: {
      const f32x4 a = splat(1.f / 6.f), b = splat(0.5f), one = splat(1.f);
      for (int i = 0; i < N; ++i) v[i] = mul(v[i], min(max(madd(b, v[i], a), zero()), one));
      break;
    }
    case ActKind::kHardSigmoid: {
      const f32x4 a = splat(ep.p0), b = splat(ep.p1), one = splat(1.f);
      for (int i = 0; i < N; ++i) v[i] = min(max(madd(b, v[i], a), zero()), one);
      break;
    }
    default:
      for (int i = 0; i < N; ++i) v[i] = activate_vector(ep, v[i]);
      break;
  }
}

}  // namespace detail

}  // namespace iciia::kernels
