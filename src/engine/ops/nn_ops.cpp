// Shape inference of the compute ops: convolution, pooling, normalisation,
// matrix products, softmax, reductions, padding.
#include <algorithm>

#include "engine/op_registry.h"
#include "engine/window.h"

namespace iciia::engine::ops {

namespace {

void require_rank(InferContext& ctx, const Value& x, size_t rank) {
  if (x.dims.size() != rank) ctx.fail("expects a rank-" + std::to_string(rank) + " input, got " + x.describe());
}

}  // namespace

void infer_conv(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const Value& w = ctx.in(1);
  require_rank(ctx, x, 4);  // 2-D convolution (NCHW)
  require_rank(ctx, w, 4);
  if (!w.constant) ctx.fail("weights " + w.describe() + " must be constant");
  const int64_t group = ctx.node().onnx.attr_int("group", 1);
  if (group < 1 || x.dims[1] % group || w.dims[0] % group)
    ctx.fail("group " + std::to_string(group) + " does not divide the channels of " + x.describe() + " and " +
             w.describe());
  if (w.dims[1] * group != x.dims[1])
    ctx.fail("weights " + w.describe() + " expect " + std::to_string(w.dims[1] * group) + " input channels, input " +
             x.describe());
  if (ctx.has_input(2) && (ctx.in(2).numel() != w.dims[0] || !ctx.in(2).constant))
    ctx.fail("bias " + ctx.in(2).describe() + " must be a constant of " + std::to_string(w.dims[0]) + " values");
  auto ks = ctx.node().onnx.attr_ints("kernel_shape", {w.dims[2], w.dims[3]});
  if (ks != std::vector<int64_t>{w.dims[2], w.dims[3]}) ctx.fail("kernel_shape disagrees with the weights");
  const Window2d win = window2d(ctx.node(), x, ks, false);
  ctx.set_output(0, DType::kFloat32, {x.dims[0], w.dims[0], win.out_h, win.out_w});
}

void infer_batchnorm(InferContext& ctx) {
  const Value& x = ctx.in(0);
  if (x.dims.size() < 2) ctx.fail("expects at least rank 2, got " + x.describe());
  for (size_t i = 1; i <= 4; ++i) {
    const Value& p = ctx.in(i);
    if (!p.constant || p.numel() != x.dims[1])
      ctx.fail("parameter " + p.describe() + " must be a constant of " + std::to_string(x.dims[1]) + " values");
  }
  if (ctx.node().outputs.size() > 1) ctx.fail("training-mode outputs (running mean/var) are not supported");
  ctx.set_output(0, DType::kFloat32, x.dims);
}

void infer_pool(InferContext& ctx) {
  const Value& x = ctx.in(0);
  require_rank(ctx, x, 4);
  auto ks = ctx.node().onnx.attr_ints("kernel_shape");
  if (ks.size() != 2) ctx.fail("kernel_shape must have 2 entries");
  const bool ceil_mode = ctx.node().onnx.attr_int("ceil_mode", 0) != 0;
  if (ctx.node().op_type() == "MaxPool" && ctx.node().onnx.attr_int("storage_order", 0) != 0)
    ctx.fail("storage_order 1 is not supported");
  if (ctx.node().outputs.size() > 1 && ctx.node().outputs[1] >= 0) ctx.fail("the Indices output is not supported");
  const Window2d win = window2d(ctx.node(), x, ks, ceil_mode);
  ctx.set_output(0, DType::kFloat32, {x.dims[0], x.dims[1], win.out_h, win.out_w});
}

void infer_global_pool(InferContext& ctx) {
  const Value& x = ctx.in(0);
  if (x.dims.size() < 3) ctx.fail("expects at least rank 3, got " + x.describe());
  auto dims = x.dims;
  std::fill(dims.begin() + 2, dims.end(), 1);
  ctx.set_output(0, DType::kFloat32, std::move(dims));
}

void infer_gemm(InferContext& ctx) {
  const Value& a = ctx.in(0);
  const Value& b = ctx.in(1);
  require_rank(ctx, a, 2);
  require_rank(ctx, b, 2);
  const bool ta = ctx.node().onnx.attr_int("transA", 0) != 0, tb = ctx.node().onnx.attr_int("transB", 0) != 0;
  const int64_t m = ta ? a.dims[1] : a.dims[0], k = ta ? a.dims[0] : a.dims[1];
  const int64_t kb = tb ? b.dims[1] : b.dims[0], n = tb ? b.dims[0] : b.dims[1];
  if (k != kb) ctx.fail("inner sizes differ: " + a.describe() + " and " + b.describe());
  if (ctx.has_input(2)) {
    const Value& c = ctx.in(2);
    if (c.numel() != 1 && c.numel() != n && c.numel() != m * n)
      ctx.fail("C " + c.describe() + " does not broadcast to [" + std::to_string(m) + ", " + std::to_string(n) + "]");
  }
  ctx.set_output(0, DType::kFloat32, {m, n});
}

void infer_matmul(InferContext& ctx) {
  const Value& a = ctx.in(0);
  const Value& b = ctx.in(1);
  if (a.dims.empty() || b.dims.empty()) ctx.fail("scalars are not valid MatMul operands");
  auto ad = a.dims, bd = b.dims;
  if (ad.size() == 1) ad.insert(ad.begin(), 1);
  if (bd.size() == 1) bd.push_back(1);
  if (ad.back() != bd[bd.size() - 2]) ctx.fail("inner sizes differ: " + a.describe() + " and " + b.describe());
  // Batch dims broadcast like numpy.
  const size_t rb = std::max(ad.size(), bd.size()) - 2;
  std::vector<int64_t> dims(rb);
  for (size_t i = 0; i < rb; ++i) {
    const int64_t x = i + ad.size() - 2 >= rb ? ad[i + ad.size() - 2 - rb] : 1;
    const int64_t y = i + bd.size() - 2 >= rb ? bd[i + bd.size() - 2 - rb] : 1;
    if (x != y && x != 1 && y != 1) ctx.fail("batch dims of " + a.describe() + " and " + b.describe() + " differ");
    dims[i] = std::max(x, y);
  }
  if (a.dims.size() > 1) dims.push_back(ad[ad.size() - 2]);
  if (b.dims.size() > 1) dims.push_back(bd.back());
  ctx.set_output(0, DType::kFloat32, std::move(dims));
}

void infer_softmax(InferContext& ctx) {
  const Value& x = ctx.in(0);
  ctx.axis(ctx.node().onnx.attr_int("axis", ctx.opset() >= 13 ? -1 : 1), x.dims.size(), "axis");
  ctx.set_output(0, DType::kFloat32, x.dims);
}

void infer_reduce_mean(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const bool keep = ctx.node().onnx.attr_int("keepdims", 1) != 0;
  auto axes = ctx.node().onnx.attr_ints("axes");
  std::vector<bool> reduce(x.dims.size(), axes.empty());
  for (int64_t a : axes) reduce[ctx.axis(a, x.dims.size(), "axis")] = true;
  std::vector<int64_t> dims;
  for (size_t i = 0; i < x.dims.size(); ++i) {
    if (!reduce[i])
      dims.push_back(x.dims[i]);
    else if (keep)
      dims.push_back(1);
  }
  ctx.set_output(0, DType::kFloat32, std::move(dims));
}

void infer_pad(InferContext& ctx) {
  const Value& x = ctx.in(0);
  const std::string mode = ctx.node().onnx.attr_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge") ctx.fail("mode \"" + mode + "\" is not supported");
  const auto pads = ctx.constant_ints(1, "pads");
  if (pads.size() != 2 * x.dims.size()) ctx.fail("pads has " + std::to_string(pads.size()) + " entries for " + x.describe());
  auto dims = x.dims;
  for (size_t i = 0; i < dims.size(); ++i) {
    dims[i] += pads[i] + pads[i + dims.size()];
    if (dims[i] < 0 || pads[i] > (1 << 20) || pads[i + dims.size()] > (1 << 20))
      ctx.fail("pads out of range for " + x.describe());
  }
  ctx.set_output(0, DType::kFloat32, std::move(dims));
}

}  // namespace iciia::engine::ops
