#include "train/iciia/baselines.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "util/error.h"

namespace iciia::train {

namespace {

void check_rows(const char* what, size_t got, int64_t rows, int64_t width) {
  if (rows < 0 || width < 1 || static_cast<int64_t>(got) != rows * width)
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + " holds " + std::to_string(got) + " values, expected " +
                                                 std::to_string(rows) + " x " + std::to_string(width));
}

// Softmax entropy of one row of logits.
double entropy_of(const float* z, int classes) {
  const double top = *std::max_element(z, z + classes);
  double sum = 0;
  for (int c = 0; c < classes; ++c) sum += std::exp(z[c] - top);
  double h = 0;
  for (int c = 0; c < classes; ++c) {
    const double p = std::exp(z[c] - top) / sum;
    if (p > 0) h -= p * std::log(p);
  }
  return h;
}

}  // namespace

LinearHead fit_linear_head(std::span<const float> x, std::span<const float> z, int64_t rows, int dim, int classes) {
  check_rows("features", x.size(), rows, dim);
  check_rows("logits", z.size(), rows, classes);
  if (rows < dim + 1)
    throw Error(ErrorCode::kInvalidArgument, "fit_linear_head: " + std::to_string(rows) + " rows cannot determine " +
                                                 std::to_string(dim) + " weights and a bias per class");
  // Normal equations over [x, 1], solved by Gauss-Jordan with partial pivoting
  // for all classes at once. Doubles: the fit is exact up to float rounding.
  const int n = dim + 1;
  std::vector<double> a(static_cast<size_t>(n) * n, 0.0), b(static_cast<size_t>(n) * classes, 0.0);
  std::vector<double> row(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int i = 0; i < dim; ++i) row[static_cast<size_t>(i)] = x[static_cast<size_t>(r * dim + i)];
    row[static_cast<size_t>(dim)] = 1;
    for (int i = 0; i < n; ++i) {
      const double ri = row[static_cast<size_t>(i)];
      if (ri == 0) continue;
      for (int j = 0; j < n; ++j) a[static_cast<size_t>(i) * n + j] += ri * row[static_cast<size_t>(j)];
      for (int c = 0; c < classes; ++c) b[static_cast<size_t>(i) * classes + c] += ri * z[static_cast<size_t>(r * classes + c)];
    }
  }
  double scale = 0;
  for (int i = 0; i < n; ++i) scale = std::max(scale, std::fabs(a[static_cast<size_t>(i) * n + i]));
  // A feature that is zero on every row (a dead ReLU unit: common) leaves the
  // system singular; a ridge far below the data's scale gives it weight 0
  // and moves the other weights by nothing measurable (the residual below
  // is checked by the caller).
  for (int i = 0; i < n; ++i) a[static_cast<size_t>(i) * n + i] += 1e-12 * scale;
  for (int col = 0; col < n; ++col) {
    int pivot = col;
    for (int r = col + 1; r < n; ++r)
      if (std::fabs(a[static_cast<size_t>(r) * n + col]) > std::fabs(a[static_cast<size_t>(pivot) * n + col])) pivot = r;
    if (!(std::fabs(a[static_cast<size_t>(pivot) * n + col]) > 1e-14 * scale))
      throw Error(ErrorCode::kInvalidArgument,
                  "fit_linear_head: the features do not span their space (feature " + std::to_string(col) +
                      " is a combination of the others)");
    if (pivot != col) {
      for (int j = 0; j < n; ++j) std::swap(a[static_cast<size_t>(col) * n + j], a[static_cast<size_t>(pivot) * n + j]);
      for (int c = 0; c < classes; ++c)
        std::swap(b[static_cast<size_t>(col) * classes + c], b[static_cast<size_t>(pivot) * classes + c]);
    }
    const double inv = 1.0 / a[static_cast<size_t>(col) * n + col];
    for (int r = 0; r < n; ++r) {
      if (r == col) continue;
      const double f = a[static_cast<size_t>(r) * n + col] * inv;
      if (f == 0) continue;
      for (int j = col; j < n; ++j) a[static_cast<size_t>(r) * n + j] -= f * a[static_cast<size_t>(col) * n + j];
      for (int c = 0; c < classes; ++c) b[static_cast<size_t>(r) * classes + c] -= f * b[static_cast<size_t>(col) * classes + c];
    }
  }
  LinearHead h;
  h.dim = dim;
  h.classes = classes;
  h.weight.resize(static_cast<size_t>(classes) * dim);
  h.bias.resize(static_cast<size_t>(classes));
  for (int i = 0; i < n; ++i) {
    const double inv = 1.0 / a[static_cast<size_t>(i) * n + i];
    for (int c = 0; c < classes; ++c) {
      const double v = b[static_cast<size_t>(i) * classes + c] * inv;
      if (i < dim)
        h.weight[static_cast<size_t>(c) * dim + i] = v;
      else
        h.bias[static_cast<size_t>(c)] = v;
    }
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int c = 0; c < classes; ++c) {
      double v = h.bias[static_cast<size_t>(c)];
      for (int i = 0; i < dim; ++i) v += h.weight[static_cast<size_t>(c) * dim + i] * x[static_cast<size_t>(r * dim + i)];
      h.max_residual = std::max(h.max_residual, std::fabs(v - z[static_cast<size_t>(r * classes + c)]));
    }
  return h;
}

std::vector<double> t3a_logits(const LinearHead& head, std::span<const float> features, std::span<const float> logits,
                               int m, const T3AOptions& o) {
  const int d = head.dim, C = head.classes;
  check_rows("features", features.size(), m, d);
  check_rows("logits", logits.size(), m, C);
  if (m < 1) throw Error(ErrorCode::kInvalidArgument, "t3a_logits: no target row");
  if (o.filter < 1) throw Error(ErrorCode::kInvalidArgument, "t3a_logits: filter must be at least 1");
  // Supports: the classifier's rows (pseudo-labelled and scored by the
  // classifier itself, as in the paper's warm-up), then every image.
  struct Support {
    const double* w = nullptr;  // a classifier row, or
    const float* f = nullptr;   // an image's features
    double entropy = 0;
  };
  std::vector<std::vector<Support>> per_class(static_cast<size_t>(C));
  std::vector<float> warm(static_cast<size_t>(C));
  for (int k = 0; k < C; ++k) {
    const double* w = head.weight.data() + static_cast<size_t>(k) * d;
    for (int c = 0; c < C; ++c) {
      double v = head.bias[static_cast<size_t>(c)];
      for (int i = 0; i < d; ++i) v += head.weight[static_cast<size_t>(c) * d + i] * w[i];
      warm[static_cast<size_t>(c)] = static_cast<float>(v);
    }
    const int label = static_cast<int>(std::max_element(warm.begin(), warm.end()) - warm.begin());
    per_class[static_cast<size_t>(label)].push_back({w, nullptr, entropy_of(warm.data(), C)});
  }
  for (int r = 0; r < m; ++r) {
    const float* z = logits.data() + static_cast<size_t>(r) * C;
    const int label = static_cast<int>(std::max_element(z, z + C) - z);
    per_class[static_cast<size_t>(label)].push_back({nullptr, features.data() + static_cast<size_t>(r) * d, entropy_of(z, C)});
  }
  const float* target = features.data() + static_cast<size_t>(m - 1) * d;
  std::vector<double> out(static_cast<size_t>(C), 0.0), proto(static_cast<size_t>(d));
  for (int k = 0; k < C; ++k) {
    auto& s = per_class[static_cast<size_t>(k)];
    // Lowest entropy first; ties keep arrival order (stable), so results do
    // not depend on the sort's implementation.
    std::stable_sort(s.begin(), s.end(), [](const Support& a, const Support& b) { return a.entropy < b.entropy; });
    if (static_cast<int>(s.size()) > o.filter) s.resize(static_cast<size_t>(o.filter));
    std::fill(proto.begin(), proto.end(), 0.0);
    for (const Support& sup : s) {
      double norm = 0;
      for (int i = 0; i < d; ++i) {
        const double v = sup.w ? sup.w[i] : sup.f[i];
        norm += v * v;
      }
      norm = std::sqrt(norm);
      if (norm == 0) continue;
      for (int i = 0; i < d; ++i) proto[static_cast<size_t>(i)] += (sup.w ? sup.w[i] : sup.f[i]) / norm;
    }
    double norm = 0;
    for (double v : proto) norm += v * v;
    norm = std::sqrt(norm);
    if (norm == 0) continue;  // no support: logit 0, as the paper's normalised empty column
    double dot = 0;
    for (int i = 0; i < d; ++i) dot += target[i] * proto[static_cast<size_t>(i)] / norm;
    out[static_cast<size_t>(k)] = dot;
  }
  return out;
}

std::vector<double> lame_assignments(std::span<const float> features, std::span<const float> probs, int m, int dim,
                                     int C, const LameOptions& o) {
  check_rows("features", features.size(), m, dim);
  check_rows("probabilities", probs.size(), m, C);
  if (o.knn < 0 || o.max_iterations < 1)
    throw Error(ErrorCode::kInvalidArgument, "lame_assignments: knn must be >= 0 and max_iterations >= 1");
  // kNN affinity over L2-normalised features (row i links to its k nearest
  // other rows; not symmetrised, as in the paper's code).
  std::vector<double> unit(static_cast<size_t>(m) * dim);
  for (int r = 0; r < m; ++r) {
    double norm = 0;
    for (int i = 0; i < dim; ++i) norm += double(features[static_cast<size_t>(r) * dim + i]) * features[static_cast<size_t>(r) * dim + i];
    norm = norm > 0 ? std::sqrt(norm) : 1;
    for (int i = 0; i < dim; ++i) unit[static_cast<size_t>(r) * dim + i] = features[static_cast<size_t>(r) * dim + i] / norm;
  }
  const int k = std::min(o.knn, m - 1);
  std::vector<std::vector<int>> neighbours(static_cast<size_t>(m));
  std::vector<std::pair<double, int>> dist;
  for (int r = 0; r < m && k > 0; ++r) {
    dist.clear();
    for (int s = 0; s < m; ++s) {
      if (s == r) continue;
      double d2 = 0;
      for (int i = 0; i < dim; ++i) {
        const double v = unit[static_cast<size_t>(r) * dim + i] - unit[static_cast<size_t>(s) * dim + i];
        d2 += v * v;
      }
      dist.push_back({d2, s});
    }
    std::partial_sort(dist.begin(), dist.begin() + k, dist.end());
    for (int j = 0; j < k; ++j) neighbours[static_cast<size_t>(r)].push_back(dist[static_cast<size_t>(j)].second);
  }
  std::vector<double> logp(static_cast<size_t>(m) * C), y(static_cast<size_t>(m) * C), next(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    logp[i] = std::log(static_cast<double>(probs[i]) + 1e-10);
    y[i] = probs[i];
  }
  for (int it = 0; it < o.max_iterations; ++it) {
    double change = 0;
    for (int r = 0; r < m; ++r) {
      double* out = next.data() + static_cast<size_t>(r) * C;
      for (int c = 0; c < C; ++c) {
        double v = logp[static_cast<size_t>(r) * C + c];
        for (int s : neighbours[static_cast<size_t>(r)]) v += y[static_cast<size_t>(s) * C + c];
        out[c] = v;
      }
      const double top = *std::max_element(out, out + C);
      double sum = 0;
      for (int c = 0; c < C; ++c) sum += out[c] = std::exp(out[c] - top);
      for (int c = 0; c < C; ++c) {
        out[c] /= sum;
        change = std::max(change, std::fabs(out[c] - y[static_cast<size_t>(r) * C + c]));
      }
    }
    y.swap(next);
    if (change < o.tolerance) break;
  }
  return y;
}

}  // namespace iciia::train
