// The backbone CNN's export: a tiny CNN trained a few steps (so BatchNorm
// statistics are not the identity), exported with the project's ONNX writer,
// run by the core engine, compared with libtorch in eval mode.
#include <gtest/gtest.h>

#ifdef ICIIA_HAVE_TORCH
#include "engine/engine.h"
#include "onnx/onnx_writer.h"
#include "train/backbone/cnn.h"
#include "train/bundle/bundle.h"
#endif

namespace iciia::train {
namespace {

#ifdef ICIIA_HAVE_TORCH

CnnConfig tiny() {
  CnnConfig c;
  c.in_channels = 1;
  c.height = 12;
  c.width = 10;  // not square: catches a swapped H/W in the export
  c.channels = {4, 6, 8};
  c.pool_after = {true, false, true};
  c.feature_dim = 5;
  c.num_classes = 3;
  return c;
}

TEST(TrainBackbone, ExportedCnnMatchesLibtorchInTheEngine) {
  torch::manual_seed(7);
  torch::set_num_threads(1);
  Cnn model(tiny());
  const torch::Tensor x = torch::randn({16, 1, 12, 10}), y = torch::randint(0, 3, {16});
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  double first = 0, last = 0;
  for (int step = 0; step < 8; ++step) {
    sgd.zero_grad();
    const torch::Tensor loss = torch::cross_entropy_loss(model->forward(x).second, y);
    loss.backward();
    sgd.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first) << "training did not reduce the loss";
  model->eval();

  BackboneInfo info;
  info.preprocess = PreprocessSpec{12, 10, 1, 1.0f / 255, {0.5f}, {0.25f}};
  info.labels = {"a", "b", "c"};
  const OnnxModel onnx = export_onnx(*model, info);
  EXPECT_EQ(onnx.opset_version(), 13);
  const std::vector<uint8_t> bytes = write_onnx(onnx);

  // The engine's outputs, by name, against libtorch's (eval: running stats).
  const torch::Tensor test_x = torch::randn({6, 1, 12, 10});
  const double diff = max_engine_difference(*model, bytes, info, test_x);
  EXPECT_LT(diff, 1e-4);
  // And not vacuously: the outputs are not all zero.
  engine::Engine e = engine::Engine::load(bytes, {});
  EXPECT_EQ(e.input_dims(), (std::vector<int64_t>{1, 1, 12, 10}));
  EXPECT_EQ(e.dims("features"), (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(e.dims("logits"), (std::vector<int64_t>{1, 3}));
  const torch::Tensor one = test_x[0].contiguous();
  e.run(std::span<const float>(one.data_ptr<float>(), static_cast<size_t>(one.numel())));
  torch::NoGradGuard no_grad;
  const auto [f, l] = model->forward(test_x.narrow(0, 0, 1));
  const std::vector<float> logits = e.read("logits");
  double scale = 0;
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(logits[k], l[0][k].item<float>(), 1e-4);
    scale = std::max(scale, std::abs(double(logits[k])));
  }
  EXPECT_GT(scale, 1e-3);

  // The model carries its description for extract and bundle.
  const BackboneInfo back = read_backbone_info(parse_onnx(bytes), "tiny.onnx");
  EXPECT_EQ(back.features, "features");
  EXPECT_EQ(back.logits, "logits");
  EXPECT_EQ(back.labels, info.labels);
  ASSERT_TRUE(back.preprocess.has_value());
  EXPECT_EQ(back.preprocess->height, 12);
  EXPECT_EQ(back.preprocess->width, 10);
  EXPECT_EQ(back.preprocess->std, std::vector<float>{0.25f});
}

TEST(TrainBackbone, DefaultModelFitsTheParameterBudget) {
  Cnn model(CnnConfig{});
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  EXPECT_LE(params, 1'000'000);
  EXPECT_EQ(model->forward(torch::zeros({2, 1, 28, 28})).first.sizes(), (torch::IntArrayRef{2, 128}));
}

#else

TEST(TrainBackbone, ExportedCnnMatchesLibtorchInTheEngine) {
  GTEST_SKIP() << "built without libtorch (install libtorch-dev and reconfigure to test the backbone export)";
}

#endif

}  // namespace
}  // namespace iciia::train
