#include "kernels/linear.h"

namespace iciia::kernels::ref {

void linear(const LinearShape& s, const float* weight, const float* bias, const float* x, int rows, float* y,
            const Epilogue& ep) {
  const int in = s.in_features(), out = s.out_features();
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<size_t>(r) * in;
    float* yr = y + static_cast<size_t>(r) * out;
    for (int p = 0; p < s.groups; ++p) {
      for (int o = 0; o < s.out_per_group; ++o) {
        const float* w = weight + (static_cast<size_t>(p) * s.out_per_group + o) * s.in_per_group;
        float acc = 0.f;
        for (int i = 0; i < s.in_per_group; ++i) acc += w[i] * xr[p * s.in_per_group + i];
        const int j = s.out_index(p, o);
        yr[j] = activate(ep, acc + bias[j]);
      }
    }
  }
}

}  // namespace iciia::kernels::ref
