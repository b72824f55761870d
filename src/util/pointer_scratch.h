// Kernels that read their inputs through pointers (indirect GEMM, border
// pixels of the depthwise kernel) keep those pointers in the float scratch
// the engine hands every step: these size it and carve the array out of it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace iciia {

// Floats of scratch that hold `count` pointers, with room to align them.
constexpr size_t pointer_floats(size_t count) {
  return (count * sizeof(const float*) + sizeof(float) - 1) / sizeof(float) + 4;
}

// The pointer array at the start of `scratch`, aligned for pointers.
inline const float** pointer_scratch(float* scratch) {
  const uintptr_t a = alignof(const float*);
  return reinterpret_cast<const float**>((reinterpret_cast<uintptr_t>(scratch) + a - 1) & ~(a - 1));
}

}  // namespace iciia
