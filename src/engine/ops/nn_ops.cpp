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

// Valid ONNX outside what the kernels run (1-D / 3-D convolution and pooling).
void require_2d(InferContext& ctx, const Value& x) {
  if (x.dims.size() != 4)
    ctx.unsupported("a rank-" + std::to_string(x.dims.size()) + " input " + x.describe() +
                    " (only 2-D NCHW windows run)");
}

// Every present input must be float (T of the op's schema).
void require_float_inputs(InferContext& ctx) {
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i) && ctx.in(i).dtype != DType::kFloat32) ctx.fail("input " + ctx.in(i).describe() + " must be float");
}

}  // namespace

void infer_conv(InferContext& ctx) {
  require_float_inputs(ctx);
  const Value& x = ctx.in(0);
  const Value& w = ctx.in(1);
  require_2d(ctx, x);  // 2-D convolution (NCHW)
  require_rank(ctx, w, 4);
  if (!w.constant) ctx.unsupported("weights " + w.describe() + " computed at run time");
  const int64_t group = ctx.node().onnx.attr_int("group", 1);
  if (group < 1 || x.dims[1] % group || w.dims[0] % group)
    ctx.fail("group " + std::to_string(group) + " does not divide the channels of " + x.describe() + " and " +
             w.describe());
  if (w.dims[1] * group != x.dims[1])
    ctx.fail("weights " + w.describe() + " expect " + std::to_string(w.dims[1] * group) + " input channels, input " +
             x.describe());
  if (ctx.has_input(2) && !ctx.in(2).constant) ctx.unsupported("a bias computed at run time");
  if (ctx.has_input(2) && ctx.in(2).numel() != w.dims[0])
    ctx.fail("bias " + ctx.in(2).describe() + " must be a constant of " + std::to_string(w.dims[0]) + " values");
  auto ks = ctx.node().onnx.attr_ints("kernel_shape", {w.dims[2], w.dims[3]});
  if (ks != std::vector<int64_t>{w.dims[2], w.dims[3]}) ctx.fail("kernel_shape disagrees with the weights");
  const Window2d win = window2d(ctx.node(), x, ks, false);
  ctx.set_output(0, DType::kFloat32, {x.dims[0], w.dims[0], win.out_h, win.out_w});
}

void infer_batchnorm(InferContext& ctx) {
  require_float_inputs(ctx);
  const Value& x = ctx.in(0);
  if (x.dims.size() < 2) ctx.fail("expects at least rank 2, got " + x.describe());
  for (size_t i = 1; i <= 4; ++i) {
    const Value& p = ctx.in(i);
    if (!p.constant) ctx.unsupported("parameter " + p.describe() + " computed at run time");
    if (p.numel() != x.dims[1])
      ctx.fail("parameter " + p.describe() + " must hold " + std::to_string(x.dims[1]) + " values");
  }
  const int64_t training = ctx.node().onnx.attr_int("training_mode", 0);
  if (training != 0) ctx.unsupported("training_mode = " + std::to_string(training));
  for (size_t i = 1; i < ctx.node().outputs.size(); ++i)
    if (ctx.node().outputs[i] >= 0) ctx.unsupported("training-mode output '" + ctx.out(i).name + "'");
  ctx.set_output(0, DType::kFloat32, x.dims);
}

void infer_pool(InferContext& ctx) {
  const Value& x = ctx.in(0);
  require_2d(ctx, x);
  auto ks = ctx.node().onnx.attr_ints("kernel_shape");
  if (ks.size() != 2) ctx.fail("kernel_shape must have 2 entries");
  const bool ceil_mode = ctx.node().onnx.attr_int("ceil_mode", 0) != 0;
  const int64_t storage_order = ctx.node().onnx.attr_int("storage_order", 0);
  if (ctx.node().op_type() == "MaxPool" && storage_order != 0)
    ctx.unsupported("storage_order = " + std::to_string(storage_order));
  if (ctx.node().op_type() == "AveragePool") {
    for (int64_t d : ctx.node().onnx.attr_ints("dilations", {1, 1}))
      if (d != 1) ctx.unsupported("dilations = " + std::to_string(d));
  }
  if (ctx.node().outputs.size() > 1 && ctx.node().outputs[1] >= 0) ctx.unsupported("the Indices output");
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
  require_float_inputs(ctx);
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
  require_float_inputs(ctx);
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
  const int64_t noop = ctx.node().onnx.attr_int("noop_with_empty_axes", 0);
  if (noop != 0) ctx.unsupported("noop_with_empty_axes = " + std::to_string(noop));
  if (ctx.has_input(1)) ctx.unsupported("axes given as an input (opset 18 form)");
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
  if (mode != "constant" && mode != "reflect" && mode != "edge") ctx.unsupported("mode = \"" + mode + "\"");
  if (x.dtype != DType::kFloat32) ctx.unsupported("padding " + x.describe() + " (float data only)");
  const auto pads = ctx.constant_ints(1, "pads");
  if (ctx.has_input(2)) {
    const Value& cv = ctx.in(2);
    if (!cv.constant) ctx.unsupported("a constant_value computed at run time");
    if (cv.numel() != 1) ctx.fail("constant_value " + cv.describe() + " must be a scalar");
  }
  if (pads.size() != 2 * x.dims.size()) ctx.fail("pads has " + std::to_string(pads.size()) + " entries for " + x.describe());
  auto dims = x.dims;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t lo = pads[i], hi = pads[i + dims.size()];
    if (lo < -dims[i] || hi < -dims[i] || lo > (1 << 20) || hi > (1 << 20)) ctx.fail("pads out of range for " + x.describe());
    dims[i] += lo + hi;
    if (dims[i] < 0) ctx.fail("pads out of range for " + x.describe());
    // ONNX reflect mirrors without repeating the border: at most dim - 1 per side.
    if (mode == "reflect" && (pads[i] >= x.dims[i] || pads[i + dims.size()] >= x.dims[i]) &&
        (pads[i] > 0 || pads[i + dims.size()] > 0))
      ctx.unsupported("reflect padding of " + std::to_string(pads[i]) + ", " + std::to_string(pads[i + dims.size()]) +
                      " on axis " + std::to_string(i) + " of " + x.describe() + " (at most dim - 1)");
  }
  ctx.set_output(0, DType::kFloat32, std::move(dims));
}

}  // namespace iciia::engine::ops
