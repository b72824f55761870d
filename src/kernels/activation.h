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

// Kernels are built from always-inlined pieces into one function per variant
// (tile, taps, activation), reached through a table so the linker cannot
// inline them back: V8 compiles a wasm function whose code needs more than
// 8192 virtual registers with a much weaker register allocator, so a driver
// that inlined every variant would run them all slower.
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

// The activations a kernel fuses into its store, as a template parameter so
// that its loops hold no dispatch and no call (V8 treats every vector
// register as caller-saved: a call anywhere in a loop, even on a path never
// taken, makes it spill the loop's vectors). Each kernel variant is one
// function, reached through a table indexed by fused_activation() (XNNPACK's
// ukernel pointers): a direct call would let the linker inline them all back
// into one huge function. The other activations (hardsigmoid, sigmoid, silu)
// are applied by the caller as a pass over the stored rows while they are
// still in cache: see needs_activation_pass.
struct ActIdentity {
  explicit ActIdentity(const Epilogue&) {}
  vec::f32x4 operator()(vec::f32x4 v) const { return v; }
};
struct ActRelu {
  explicit ActRelu(const Epilogue&) {}
  vec::f32x4 operator()(vec::f32x4 v) const { return vec::max(v, vec::zero()); }
};
struct ActClip {
  vec::f32x4 lo, hi;
  explicit ActClip(const Epilogue& ep) : lo(vec::splat(ep.p0)), hi(vec::splat(ep.p1)) {}
  vec::f32x4 operator()(vec::f32x4 v) const { return vec::min(vec::max(v, lo), hi); }
};
struct ActHardSwish {
  explicit ActHardSwish(const Epilogue&) {}
  vec::f32x4 operator()(vec::f32x4 v) const {
    using namespace vec;
    return mul(v, min(max(madd(splat(0.5f), v, splat(1.f / 6.f)), zero()), splat(1.f)));
  }
};

// Row of a kernel table: one entry per fusable activation, in this order.
constexpr int kFusedActs = 4;
inline int fused_activation(const Epilogue& ep) {
  switch (ep.kind) {
    case ActKind::kRelu: return 1;
    case ActKind::kClip: return 2;
    case ActKind::kHardSwish: return 3;
    default: return 0;  // none, or a pass afterwards
  }
}
inline bool needs_activation_pass(const Epilogue& ep) {
  return ep.kind == ActKind::kHardSigmoid || ep.kind == ActKind::kSigmoid || ep.kind == ActKind::kSilu;
}

}  // namespace detail

}  // namespace iciia::kernels
