// A thin 4 x f32 vector layer: the kernels are written once against it and
// compile to WebAssembly SIMD128 in the browser, SSE2 natively, or plain
// scalar code elsewhere. Only the operations the kernels need are here.
#pragma once

#include <cstddef>

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#define ICIIA_VEC_ISA "wasmsimd"
#elif defined(__SSE2__)
#include <emmintrin.h>
#define ICIIA_VEC_ISA "sse2"
#else
#define ICIIA_VEC_ISA "scalar4"
#endif

namespace iciia::vec {

#if defined(__wasm_simd128__)
using f32x4 = v128_t;
inline f32x4 load(const float* p) { return wasm_v128_load(p); }
inline void store(float* p, f32x4 v) { wasm_v128_store(p, v); }
inline f32x4 splat(float x) { return wasm_f32x4_splat(x); }
inline f32x4 zero() { return wasm_f32x4_splat(0.f); }
inline f32x4 add(f32x4 a, f32x4 b) { return wasm_f32x4_add(a, b); }
inline f32x4 sub(f32x4 a, f32x4 b) { return wasm_f32x4_sub(a, b); }
inline f32x4 mul(f32x4 a, f32x4 b) { return wasm_f32x4_mul(a, b); }
inline f32x4 max(f32x4 a, f32x4 b) { return wasm_f32x4_pmax(a, b); }
inline float hsum(f32x4 v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}
#elif defined(__SSE2__)
using f32x4 = __m128;
inline f32x4 load(const float* p) { return _mm_loadu_ps(p); }
inline void store(float* p, f32x4 v) { _mm_storeu_ps(p, v); }
inline f32x4 splat(float x) { return _mm_set1_ps(x); }
inline f32x4 zero() { return _mm_setzero_ps(); }
inline f32x4 add(f32x4 a, f32x4 b) { return _mm_add_ps(a, b); }
inline f32x4 sub(f32x4 a, f32x4 b) { return _mm_sub_ps(a, b); }
inline f32x4 mul(f32x4 a, f32x4 b) { return _mm_mul_ps(a, b); }
inline f32x4 max(f32x4 a, f32x4 b) { return _mm_max_ps(a, b); }
inline float hsum(f32x4 v) {
  alignas(16) float t[4];
  _mm_store_ps(t, v);
  return (t[0] + t[1]) + (t[2] + t[3]);
}
#else
struct f32x4 {
  float v[4];
};
inline f32x4 load(const float* p) { return {{p[0], p[1], p[2], p[3]}}; }
inline void store(float* p, f32x4 a) {
  for (int i = 0; i < 4; ++i) p[i] = a.v[i];
}
inline f32x4 splat(float x) { return {{x, x, x, x}}; }
inline f32x4 zero() { return splat(0.f); }
#define ICIIA_VEC_LANEWISE(name, expr)               \
  inline f32x4 name(f32x4 a, f32x4 b) {              \
    f32x4 r;                                         \
    for (int i = 0; i < 4; ++i) r.v[i] = (expr);     \
    return r;                                        \
  }
ICIIA_VEC_LANEWISE(add, a.v[i] + b.v[i])
ICIIA_VEC_LANEWISE(sub, a.v[i] - b.v[i])
ICIIA_VEC_LANEWISE(mul, a.v[i] * b.v[i])
ICIIA_VEC_LANEWISE(max, a.v[i] > b.v[i] ? a.v[i] : b.v[i])
#undef ICIIA_VEC_LANEWISE
inline float hsum(f32x4 a) { return (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]); }
#endif

// No fused multiply-add in baseline SIMD128: a separate mul and add keeps
// native and wasm results identical.
inline f32x4 madd(f32x4 acc, f32x4 a, f32x4 b) { return add(acc, mul(a, b)); }

}  // namespace iciia::vec
