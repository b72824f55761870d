// A thin 4 x f32 vector layer: the kernels are written once against it and
// compile to WebAssembly SIMD128 in the browser, SSE2 natively, or plain
// scalar code elsewhere. Only the operations the kernels need are here.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

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

// ---- Additions for the CNN kernels (conv, depthwise, pooling, activations) ----
//
// min has WebAssembly's pmin semantics on every path: min(a, b) = b < a ? b : a
// (one minps on x86; NaN in a passes through). Comparisons return lane masks
// (all bits set or clear) meant for select / bit_and. load_splat(p) = splat(*p)
// as one instruction where the ISA has it (v128.load32_splat, which V8 emits as
// vbroadcastss). shift_left_bits<N> shifts each lane's 32-bit pattern.
#if defined(__wasm_simd128__)
inline f32x4 min(f32x4 a, f32x4 b) { return wasm_f32x4_pmin(a, b); }
inline f32x4 div(f32x4 a, f32x4 b) { return wasm_f32x4_div(a, b); }
inline f32x4 load_splat(const float* p) { return wasm_v128_load32_splat(p); }
inline f32x4 lt(f32x4 a, f32x4 b) { return wasm_f32x4_lt(a, b); }
inline f32x4 bit_and(f32x4 a, f32x4 b) { return wasm_v128_and(a, b); }
inline f32x4 select(f32x4 mask, f32x4 a, f32x4 b) { return wasm_v128_bitselect(a, b, mask); }
inline f32x4 abs(f32x4 a) { return wasm_f32x4_abs(a); }
template <int N>
inline f32x4 shift_left_bits(f32x4 v) {
  return wasm_i32x4_shl(v, N);
}
#elif defined(__SSE2__)
inline f32x4 min(f32x4 a, f32x4 b) { return _mm_min_ps(b, a); }
inline f32x4 div(f32x4 a, f32x4 b) { return _mm_div_ps(a, b); }
inline f32x4 load_splat(const float* p) { return _mm_load1_ps(p); }
inline f32x4 lt(f32x4 a, f32x4 b) { return _mm_cmplt_ps(a, b); }
inline f32x4 bit_and(f32x4 a, f32x4 b) { return _mm_and_ps(a, b); }
inline f32x4 select(f32x4 mask, f32x4 a, f32x4 b) {
  return _mm_or_ps(_mm_and_ps(mask, a), _mm_andnot_ps(mask, b));
}
inline f32x4 abs(f32x4 a) { return _mm_andnot_ps(_mm_set1_ps(-0.f), a); }
template <int N>
inline f32x4 shift_left_bits(f32x4 v) {
  return _mm_castsi128_ps(_mm_slli_epi32(_mm_castps_si128(v), N));
}
#else
#define ICIIA_VEC_LANEWISE(name, expr)               \
  inline f32x4 name(f32x4 a, f32x4 b) {              \
    f32x4 r;                                         \
    for (int i = 0; i < 4; ++i) r.v[i] = (expr);     \
    return r;                                        \
  }
ICIIA_VEC_LANEWISE(min, b.v[i] < a.v[i] ? b.v[i] : a.v[i])
ICIIA_VEC_LANEWISE(div, a.v[i] / b.v[i])
ICIIA_VEC_LANEWISE(lt, std::bit_cast<float>(a.v[i] < b.v[i] ? 0xFFFFFFFFu : 0u))
ICIIA_VEC_LANEWISE(bit_and, std::bit_cast<float>(std::bit_cast<uint32_t>(a.v[i]) & std::bit_cast<uint32_t>(b.v[i])))
#undef ICIIA_VEC_LANEWISE
inline f32x4 load_splat(const float* p) { return splat(*p); }
inline f32x4 select(f32x4 mask, f32x4 a, f32x4 b) {
  f32x4 r;
  for (int i = 0; i < 4; ++i) {
    const uint32_t m = std::bit_cast<uint32_t>(mask.v[i]);
    r.v[i] = std::bit_cast<float>((std::bit_cast<uint32_t>(a.v[i]) & m) | (std::bit_cast<uint32_t>(b.v[i]) & ~m));
  }
  return r;
}
inline f32x4 abs(f32x4 a) {
  for (int i = 0; i < 4; ++i) a.v[i] = std::bit_cast<float>(std::bit_cast<uint32_t>(a.v[i]) & 0x7FFFFFFFu);
  return a;
}
template <int N>
inline f32x4 shift_left_bits(f32x4 a) {
  for (int i = 0; i < 4; ++i) a.v[i] = std::bit_cast<float>(std::bit_cast<uint32_t>(a.v[i]) << N);
  return a;
}
#endif

// 16 bytes to 16 floats (exact: every byte value is a float), for
// preprocessing's pixels. Widening in registers beats a scalar loop the
// compiler may or may not vectorise.
#if defined(__wasm_simd128__)
// Not f32x4.convert_i32x4_s of the widened lanes: LLVM 14 sees the zero
// extension, turns the signed convert into an unsigned one and scalarises it
// (an extract, a scalar convert and a replace per lane: 3x the whole fast
// preprocessing's time). Instead each byte goes into the mantissa of 2^23,
// and 2^23 is subtracted: exact, since 2^23 + b and b are floats, so the
// result is bit for bit the convert's.
inline f32x4 widened_to_floats(v128_t u32) {
  return wasm_f32x4_sub(wasm_v128_or(u32, wasm_i32x4_splat(0x4B000000)), wasm_f32x4_splat(8388608.f));
}
inline void bytes16_to_floats(const uint8_t* p, float* out) {
  const v128_t b = wasm_v128_load(p);
  const v128_t lo = wasm_u16x8_extend_low_u8x16(b), hi = wasm_u16x8_extend_high_u8x16(b);
  wasm_v128_store(out, widened_to_floats(wasm_u32x4_extend_low_u16x8(lo)));
  wasm_v128_store(out + 4, widened_to_floats(wasm_u32x4_extend_high_u16x8(lo)));
  wasm_v128_store(out + 8, widened_to_floats(wasm_u32x4_extend_low_u16x8(hi)));
  wasm_v128_store(out + 12, widened_to_floats(wasm_u32x4_extend_high_u16x8(hi)));
}
#elif defined(__SSE2__)
inline void bytes16_to_floats(const uint8_t* p, float* out) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), z = _mm_setzero_si128();
  const __m128i lo = _mm_unpacklo_epi8(b, z), hi = _mm_unpackhi_epi8(b, z);
  _mm_storeu_ps(out, _mm_cvtepi32_ps(_mm_unpacklo_epi16(lo, z)));
  _mm_storeu_ps(out + 4, _mm_cvtepi32_ps(_mm_unpackhi_epi16(lo, z)));
  _mm_storeu_ps(out + 8, _mm_cvtepi32_ps(_mm_unpacklo_epi16(hi, z)));
  _mm_storeu_ps(out + 12, _mm_cvtepi32_ps(_mm_unpackhi_epi16(hi, z)));
}
#else
inline void bytes16_to_floats(const uint8_t* p, float* out) {
  for (int i = 0; i < 16; ++i) out[i] = p[i];
}
#endif

// First n (0..4) lanes from / to memory; the other lanes load as zero.
// Never touches memory past p + n: for channel tails at the end of a tensor.
#if defined(__wasm_simd128__)
inline f32x4 load_partial(const float* p, int n) {
  switch (n) {
    case 0: return zero();
    case 1: return wasm_v128_load32_zero(p);
    case 2: return wasm_v128_load64_zero(p);
    case 3: return wasm_v128_load32_lane(p + 2, wasm_v128_load64_zero(p), 2);
    default: return load(p);
  }
}
inline void store_partial(float* p, f32x4 v, int n) {
  switch (n) {
    case 0: break;
    case 1: wasm_v128_store32_lane(p, v, 0); break;
    case 2: wasm_v128_store64_lane(p, v, 0); break;
    case 3:
      wasm_v128_store64_lane(p, v, 0);
      wasm_v128_store32_lane(p + 2, v, 2);
      break;
    default: store(p, v); break;
  }
}
#elif defined(__SSE2__)
inline f32x4 load_partial(const float* p, int n) {
  switch (n) {
    case 0: return zero();
    case 1: return _mm_load_ss(p);
    // movq through the unaligned-safe intrinsics (p is only float-aligned).
    case 2: return _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    case 3:
      return _mm_movelh_ps(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))), _mm_load_ss(p + 2));
    default: return load(p);
  }
}
inline void store_partial(float* p, f32x4 v, int n) {
  switch (n) {
    case 0: break;
    case 1: _mm_store_ss(p, v); break;
    case 2: _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_castps_si128(v)); break;
    case 3:
      _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_castps_si128(v));
      _mm_store_ss(p + 2, _mm_movehl_ps(v, v));
      break;
    default: store(p, v); break;
  }
}
#else
inline f32x4 load_partial(const float* p, int n) {
  f32x4 r = zero();
  for (int i = 0; i < n && i < 4; ++i) r.v[i] = p[i];
  return r;
}
inline void store_partial(float* p, f32x4 v, int n) {
  for (int i = 0; i < n && i < 4; ++i) p[i] = v.v[i];
}
#endif

// e^x, lanewise, within ~3e-7 relative of std::exp for x in [-87.3, 88.7]
// (normal float results). Larger x gives +inf, smaller x gives 0 (std::exp
// would return a subnormal there); NaN input gives an unspecified value.
// Range reduction x = n ln2 + r, |r| <= ln2/2, with ln2 split in two
// (Cody-Waite), e^r by its degree-6 Taylor polynomial, 2^n built in the
// exponent bits by the round-to-nearest "magic number" trick. Above x = 88,
// n reaches 128, past the largest normal exponent: there the result is built
// as p * 2^(n-1) * 2.
inline f32x4 exp(f32x4 x) {
  const f32x4 lo = splat(-87.33654f), hi = splat(89.f);
  const f32x4 xc = max(min(x, hi), lo);
  // 1.5 * 2^23 + 127: adding it rounds x*log2(e) to an integer n and leaves
  // n + 127 in the low mantissa bits.
  const f32x4 magic = splat(12583039.f);
  const f32x4 t = madd(magic, xc, splat(1.44269504f));
  const f32x4 n = sub(t, magic);
  f32x4 r = sub(xc, mul(n, splat(0.693145751953125f)));
  r = sub(r, mul(n, splat(1.428606765330187e-06f)));
  f32x4 p = splat(1.f / 720.f);
  p = madd(splat(1.f / 120.f), p, r);
  p = madd(splat(1.f / 24.f), p, r);
  p = madd(splat(1.f / 6.f), p, r);
  p = madd(splat(0.5f), p, r);
  p = madd(splat(1.f), p, r);
  p = madd(splat(1.f), p, r);
  const f32x4 big = bit_and(lt(splat(88.f), xc), splat(1.f));  // 1 where n may be 128, else 0
  const f32x4 scale = shift_left_bits<23>(sub(t, big));         // 2^(n - big)
  const f32x4 y = mul(mul(p, scale), add(splat(1.f), big));
  // Below the normal range: flush to zero instead of returning 2^-126 * p.
  return select(lt(x, lo), zero(), y);
}

}  // namespace iciia::vec
