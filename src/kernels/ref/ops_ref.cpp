#include <cmath>

#include "kernels/ops.h"

namespace iciia::kernels::ref {

float dot(const float* a, const float* b, int n) {
  float acc = 0.f;
  for (int i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy(float a, const float* x, float* y, int n) {
  for (int i = 0; i < n; ++i) y[i] += a * x[i];
}

void relu(float* x, int n) {
  for (int i = 0; i < n; ++i) x[i] = x[i] > 0.f ? x[i] : 0.f;
}

void softmax(float* x, int n) {
  if (n <= 0) return;
  float m = x[0];
  for (int i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
  float sum = 0.f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  const float inv = 1.f / sum;
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

void add_layernorm(const float* a, const float* b, const float* gamma, const float* beta, float* out, int n,
                   float eps) {
  // Two passes in double: this is the accuracy anchor, not a speed one.
  double mean = 0.0;
  for (int i = 0; i < n; ++i) mean += static_cast<double>(a[i]) + b[i];
  mean /= n;
  double var = 0.0;
  for (int i = 0; i < n; ++i) {
    const double d = static_cast<double>(a[i]) + b[i] - mean;
    var += d * d;
  }
  var /= n;
  const double inv = 1.0 / std::sqrt(var + eps);
  for (int i = 0; i < n; ++i) {
    const double t = (static_cast<double>(a[i]) + b[i] - mean) * inv;
    out[i] = static_cast<float>(t * gamma[i] + beta[i]);
  }
}

void attention_head(const float* q, const float* k, const float* v, int n, int stride, int dh, float scale,
                    float* probs, float* out) {
  for (int s = 0; s < n; ++s) probs[s] = scale * dot(q, k + static_cast<size_t>(s) * stride, dh);
  softmax(probs, n);
  for (int i = 0; i < dh; ++i) out[i] = 0.f;
  for (int s = 0; s < n; ++s) axpy(probs[s], v + static_cast<size_t>(s) * stride, out, dh);
}

}  // namespace iciia::kernels::ref
