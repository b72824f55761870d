// The storage helpers every data-movement step builds on (steps.h), and
// what fusion adds to a step's kind.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "engine/steps.h"
#include "util/error.h"

namespace iciia::engine {

bool storage_is_logical(const Value& v, const Slot& slot) {
  return !slot.nhwc || v.dims[1] == 1 || v.dims[2] * v.dims[3] == 1;
}

std::vector<int64_t> storage_strides(const Value& v, const Slot& slot) {
  const size_t r = v.dims.size();
  std::vector<int64_t> st(r, 1);
  if (!v.constant && slot.nhwc && r == 4) {  // stored [n][h][w][c]
    const int64_t c = v.dims[1], h = v.dims[2], w = v.dims[3];
    return {h * w * c, 1, w * c, c};
  }
  for (size_t i = r; i-- > 1;) st[i - 1] = st[i] * v.dims[i];
  return st;
}

std::vector<int64_t> index_offsets(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides) {
  std::vector<int64_t> out{0};
  for (size_t d = 0; d < dims.size(); ++d) {
    std::vector<int64_t> next;
    next.reserve(out.size() * dims[d]);
    for (int64_t base : out)
      for (int64_t i = 0; i < dims[d]; ++i) next.push_back(base + i * strides[d]);
    out = std::move(next);
  }
  return out;
}

StridedCopy StridedCopy::make(const std::vector<int64_t>& dims, const std::vector<int64_t>& src_strides,
                              const std::vector<int64_t>& dst_strides) {
  // Unit axes go; the rest are ordered outermost-first in the destination.
  std::vector<size_t> order;
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] != 1) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return dst_strides[a] > dst_strides[b]; });
  StridedCopy c;
  for (size_t i : order) {
    if (dims[i] == 0) return {{0}, {1}, {1}};
    const size_t k = c.dims.size();
    if (k > 0 && c.src_strides[k - 1] == src_strides[i] * dims[i] && c.dst_strides[k - 1] == dst_strides[i] * dims[i]) {
      c.dims[k - 1] *= dims[i];  // contiguous on both sides: one longer axis
      c.src_strides[k - 1] = src_strides[i];
      c.dst_strides[k - 1] = dst_strides[i];
      continue;
    }
    c.dims.push_back(dims[i]);
    c.src_strides.push_back(src_strides[i]);
    c.dst_strides.push_back(dst_strides[i]);
  }
  if (c.dims.empty()) c = {{1}, {1}, {1}};  // a single element
  if (c.dims.size() > 8)
    throw Error(ErrorCode::kUnsupported, "a strided copy over " + std::to_string(c.dims.size()) + " axes (at most 8)");
  return c;
}

int64_t StridedCopy::numel() const {
  return std::accumulate(dims.begin(), dims.end(), int64_t{1}, std::multiplies<>());
}

void StridedCopy::run(const float* src, float* dst) const {
  const size_t r = dims.size();
  const int64_t n = dims[r - 1], ss = src_strides[r - 1], ds = dst_strides[r - 1];
  if (n == 0) return;
  int64_t rows = 1;
  for (size_t k = 0; k + 1 < r; ++k) rows *= dims[k];
  int64_t pos[8] = {0};
  const float* s = src;
  float* d = dst;
  for (int64_t row = 0; row < rows; ++row) {
    if (ss == 1 && ds == 1)
      std::memcpy(d, s, sizeof(float) * n);
    else
      for (int64_t i = 0; i < n; ++i) d[i * ds] = s[i * ss];
    // Odometer over the outer axes (at most 7: ranks are bounded by the parser).
    for (size_t k = r - 1; k-- > 0;) {
      s += src_strides[k];
      d += dst_strides[k];
      if (++pos[k] < dims[k]) break;
      s -= src_strides[k] * dims[k];
      d -= dst_strides[k] * dims[k];
      pos[k] = 0;
    }
  }
}

std::string StepArgs::fused_suffix() const {
  std::string s = residual >= 0 ? " +residual" : "";
  if (epilogue.kind != kernels::ActKind::kNone) s += std::string(" +") + kernels::act_kind_name(epilogue.kind);
  return s;
}

}  // namespace iciia::engine
