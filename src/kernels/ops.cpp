#include "kernels/ops.h"

#include <cmath>

#include "kernels/vec.h"

namespace iciia::kernels {

using namespace vec;

float dot(const float* a, const float* b, int n) {
  // Four independent accumulators hide the add latency.
  f32x4 s0 = zero(), s1 = zero(), s2 = zero(), s3 = zero();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = madd(s0, load(a + i), load(b + i));
    s1 = madd(s1, load(a + i + 4), load(b + i + 4));
    s2 = madd(s2, load(a + i + 8), load(b + i + 8));
    s3 = madd(s3, load(a + i + 12), load(b + i + 12));
  }
  for (; i + 4 <= n; i += 4) s0 = madd(s0, load(a + i), load(b + i));
  float acc = hsum(add(add(s0, s1), add(s2, s3)));
  for (; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy(float a, const float* x, float* y, int n) {
  const f32x4 va = splat(a);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    store(y + i, madd(load(y + i), va, load(x + i)));
    store(y + i + 4, madd(load(y + i + 4), va, load(x + i + 4)));
  }
  for (; i + 4 <= n; i += 4) store(y + i, madd(load(y + i), va, load(x + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

void relu(float* x, int n) {
  const f32x4 z = zero();
  int i = 0;
  for (; i + 4 <= n; i += 4) store(x + i, max(load(x + i), z));
  for (; i < n; ++i) x[i] = x[i] > 0.f ? x[i] : 0.f;
}

void softmax(float* x, int n) {
  if (n <= 0) return;
  float m = x[0];
  for (int i = 1; i < n; ++i) m = x[i] > m ? x[i] : m;
  // exp stays scalar: n is a history length, small next to the projections.
  float sum = 0.f;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    sum += x[i];
  }
  const float inv = 1.f / sum;
  const f32x4 vinv = splat(inv);
  int i = 0;
  for (; i + 4 <= n; i += 4) store(x + i, mul(load(x + i), vinv));
  for (; i < n; ++i) x[i] *= inv;
}

void add_layernorm(const float* a, const float* b, const float* gamma, const float* beta, float* out, int n,
                   float eps) {
  // Two passes (mean, then centred variance) rather than E[x^2] - E[x]^2,
  // which loses digits when the mean is large next to the spread.
  f32x4 s = zero();
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const f32x4 t = add(load(a + i), load(b + i));
    store(out + i, t);
    s = add(s, t);
  }
  float sum = hsum(s);
  for (; i < n; ++i) {
    out[i] = a[i] + b[i];
    sum += out[i];
  }
  const float mean = sum / n;
  const f32x4 vmean = splat(mean);
  f32x4 q = zero();
  for (i = 0; i + 4 <= n; i += 4) {
    const f32x4 d = sub(load(out + i), vmean);
    q = madd(q, d, d);
  }
  float var = hsum(q);
  for (; i < n; ++i) var += (out[i] - mean) * (out[i] - mean);
  var /= n;
  const float inv = 1.f / std::sqrt(var + eps);
  const f32x4 vinv = splat(inv);
  for (i = 0; i + 4 <= n; i += 4) {
    const f32x4 t = mul(sub(load(out + i), vmean), vinv);
    store(out + i, madd(load(beta + i), t, load(gamma + i)));
  }
  for (; i < n; ++i) out[i] = (out[i] - mean) * inv * gamma[i] + beta[i];
}

void attention_head(const float* q, const float* k, const float* v, int n, int stride, int dh, float scale,
                    float* probs, float* out) {
  for (int s = 0; s < n; ++s) probs[s] = scale * dot(q, k + static_cast<size_t>(s) * stride, dh);
  softmax(probs, n);
  for (int i = 0; i < dh; ++i) out[i] = 0.f;
  for (int s = 0; s < n; ++s) axpy(probs[s], v + static_cast<size_t>(s) * stride, out, dh);
}

}  // namespace iciia::kernels
