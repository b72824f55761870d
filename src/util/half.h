// 16-bit floats of weight files (ONNX FLOAT16 / BFLOAT16, safetensors F16 /
// BF16) to float, exactly: every half and bfloat16 value is a float.
#pragma once

#include <cstdint>
#include <cstring>

namespace iciia {

// (std::bit_cast is missing from the libc++ of emscripten 3.1.6.)
inline float float_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// IEEE 754 binary16: subnormals, infinities and NaN payloads kept.
inline float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24, exact in float.
    const float mag = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -mag : mag;
  }
  if (exp == 31) return float_from_bits(sign | 0x7f800000u | (mant << 13));  // inf / nan
  return float_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
}

// bfloat16 is the upper half of a float.
inline float bf16_to_float(uint16_t h) { return float_from_bits(static_cast<uint32_t>(h) << 16); }

}  // namespace iciia
