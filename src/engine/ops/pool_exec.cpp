// MaxPool, AveragePool and GlobalAveragePool on NHWC.
#include "engine/steps.h"
#include "engine/window.h"
#include "kernels/pool.h"
#include "util/error.h"

namespace iciia::engine {

namespace {

class PoolStep : public Step {
 public:
  enum class Kind { kMax, kAverage, kGlobalAverage };
  PoolStep(Kind kind, kernels::Pool2dParams p, int n, int h, int w, int c, int64_t in, int64_t out)
      : kind_(kind), p_(p), n_(n), h_(h), w_(w), c_(c), in_(in), out_(out) {}
  void run(float* arena, float*) const override {
    switch (kind_) {
      case Kind::kMax: kernels::max_pool2d(p_, arena + in_, n_, h_, w_, c_, arena + out_); break;
      case Kind::kAverage: kernels::avg_pool2d(p_, arena + in_, n_, h_, w_, c_, arena + out_); break;
      case Kind::kGlobalAverage: kernels::global_avg_pool(arena + in_, n_, h_, w_, c_, arena + out_); break;
    }
  }

 private:
  Kind kind_;
  kernels::Pool2dParams p_;
  int n_, h_, w_, c_;
  int64_t in_, out_;
};

}  // namespace

std::unique_ptr<Step> make_pool_step(const StepArgs& a) {
  const Value& x = a.value(a.input(0));
  if (!a.slot(a.input(0)).nhwc)
    throw Error(ErrorCode::kUnsupported, a.node.label() + ": pooling needs a rank-4 input, got " + x.describe());
  const std::string& op = a.node.op_type();
  PoolStep::Kind kind = op == "MaxPool" ? PoolStep::Kind::kMax
                        : op == "AveragePool" ? PoolStep::Kind::kAverage
                                              : PoolStep::Kind::kGlobalAverage;
  kernels::Pool2dParams p;
  if (kind != PoolStep::Kind::kGlobalAverage) {
    const bool ceil_mode = a.node.onnx.attr_int("ceil_mode", 0) != 0;
    const Window2d w = window2d(a.node, x, a.node.onnx.attr_ints("kernel_shape"), ceil_mode);
    p.kernel_h = w.kernel_h;
    p.kernel_w = w.kernel_w;
    p.stride_h = w.stride_h;
    p.stride_w = w.stride_w;
    p.dilation_h = w.dilation_h;
    p.dilation_w = w.dilation_w;
    p.pad_top = w.pad_top;
    p.pad_left = w.pad_left;
    p.pad_bottom = w.pad_bottom;
    p.pad_right = w.pad_right;
    p.ceil_mode = ceil_mode;
    p.count_include_pad = a.node.onnx.attr_int("count_include_pad", 0) != 0;
  }
  auto step = std::make_unique<PoolStep>(kind, p, static_cast<int>(x.dims[0]), static_cast<int>(x.dims[2]),
                                         static_cast<int>(x.dims[3]), static_cast<int>(x.dims[1]),
                                         a.slot(a.input(0)).offset, a.slot(a.output).offset);
  step->kind = op;
  return step;
}

}  // namespace iciia::engine
