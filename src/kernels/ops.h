// Vector kernels of the attention and normalisation steps. Each has a scalar
// reference in namespace ref (src/kernels/ref/), which tests sweep odd sizes
// against.
#pragma once

namespace iciia::kernels {

float dot(const float* a, const float* b, int n);
// y += a * x
void axpy(float a, const float* x, float* y, int n);
void relu(float* x, int n);
// Numerically stable, in place.
void softmax(float* x, int n);
// out = LayerNorm(a + b) * gamma + beta, over n values; out may alias a or b.
void add_layernorm(const float* a, const float* b, const float* gamma, const float* beta, float* out, int n,
                   float eps);
// One head of one query: out[dh] = softmax(scale * q . K[s]) . V[s] over s < n,
// K and V rows `stride` floats apart. probs: n floats, left holding the weights.
void attention_head(const float* q, const float* k, const float* v, int n, int stride, int dh, float scale,
                    float* probs, float* out);

namespace ref {
float dot(const float* a, const float* b, int n);
void axpy(float a, const float* x, float* y, int n);
void relu(float* x, int n);
void softmax(float* x, int n);
void add_layernorm(const float* a, const float* b, const float* gamma, const float* beta, float* out, int n,
                   float eps);
void attention_head(const float* q, const float* k, const float* v, int n, int stride, int dh, float scale,
                    float* probs, float* out);
}  // namespace ref

}  // namespace iciia::kernels
