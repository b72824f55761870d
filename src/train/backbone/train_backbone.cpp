#include "train/backbone/train_backbone.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "engine/engine.h"
#include "onnx/onnx_writer.h"
#include "train/backbone/cnn.h"
#include "train/data/style.h"
#include "train/progress.h"
#include "util/error.h"
#include "util/sha256.h"

namespace iciia::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The whole set through the core's preprocess() (what the browser and
// `extract` do), as one [N, C, H, W] tensor.
torch::Tensor preprocess_all(const data::Dataset& d, const PreprocessSpec& spec) {
  const int64_t n = static_cast<int64_t>(d.images.size());
  torch::Tensor out = torch::empty({n, spec.channels, spec.height, spec.width});
  const size_t per = static_cast<size_t>(spec.channels) * spec.height * spec.width;
  for (int64_t i = 0; i < n; ++i)
    preprocess(d.images[i].view(), spec, std::span<float>(out.data_ptr<float>() + i * per, per));
  return out;
}

// The batch `idx` of the training set, each image under a style drawn from
// `rng` with probability p, through preprocess().
torch::Tensor styled_batch(const data::Dataset& d, const torch::Tensor& idx, const PreprocessSpec& spec, double p,
                           std::mt19937_64& rng) {
  const int64_t n = idx.size(0);
  torch::Tensor out = torch::empty({n, spec.channels, spec.height, spec.width});
  const size_t per = static_cast<size_t>(spec.channels) * spec.height * spec.width;
  const int64_t* ix = idx.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const data::Image& source = d.images[static_cast<size_t>(ix[i])];
    std::span<float> dst(out.data_ptr<float>() + i * per, per);
    if (data::uniform01(rng) < p) {
      const data::Style style = data::draw_style(rng);
      preprocess(data::apply_style(source, style, rng()).view(), spec, dst);
    } else {
      preprocess(source.view(), spec, dst);
    }
  }
  return out;
}

torch::Tensor labels_of(const data::Dataset& d) {
  return torch::tensor(std::vector<int64_t>(d.labels.begin(), d.labels.end()), torch::kInt64);
}

// Mean and standard deviation of the training pixels (in scaled units),
// rounded to 4 decimals so the manifest shows plain numbers.
PreprocessSpec spec_from(const data::Dataset& train) {
  double sum = 0, sq = 0, count = 0;
  for (const auto& im : train.images)
    for (uint8_t p : im.pixels) {
      const double v = p / 255.0;
      sum += v;
      sq += v * v;
      count += 1;
    }
  const double mean = sum / count, sd = std::sqrt(sq / count - mean * mean);
  PreprocessSpec spec;
  spec.height = train.images.front().height;
  spec.width = train.images.front().width;
  spec.channels = 1;
  spec.scale = 1.0f / 255.0f;
  spec.mean = {static_cast<float>(std::round(mean * 1e4) / 1e4)};
  spec.std = {static_cast<float>(std::round(sd * 1e4) / 1e4)};
  return spec;
}

// Random shifts of up to `shift` pixels (background-filled) and, for data
// sets whose classes are mirror-symmetric (clothes, not digits), horizontal flips.
torch::Tensor augment(const torch::Tensor& x, float background, int shift, bool flips) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const torch::Tensor padded = torch::constant_pad_nd(x, {shift, shift, shift, shift}, background);
  const torch::Tensor offsets = torch::randint(0, 2 * shift + 1, {n, 2}, torch::kInt64);
  torch::Tensor out = torch::empty_like(x);
  const int64_t* o = offsets.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) out[i].copy_(padded[i].narrow(1, o[2 * i], h).narrow(2, o[2 * i + 1], w));
  if (flips) out = torch::where((torch::rand({n, 1, 1, 1}) < 0.5), out.flip({3}), out);
  return out;
}

double torch_accuracy(Cnn& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  model->eval();
  int64_t correct = 0;
  for (int64_t i = 0; i < x.size(0); i += 1000) {
    const int64_t b = std::min<int64_t>(1000, x.size(0) - i);
    correct += model->forward(x.narrow(0, i, b)).second.argmax(1).eq(y.narrow(0, i, b)).sum().item<int64_t>();
  }
  model->train();
  return double(correct) / x.size(0);
}

}  // namespace

void train_backbone(const TrainBackboneOptions& opt) {
  if (opt.data != "fashion-mnist" && opt.data != "mnist")
    throw Error(ErrorCode::kInvalidArgument, "--data must be fashion-mnist or mnist, got '" + opt.data + "'");
  if (!(opt.style_augment >= 0 && opt.style_augment <= 1))
    throw Error(ErrorCode::kInvalidArgument, "--style-augment must be a probability in [0, 1]");
  if (opt.epochs < 1 || opt.batch < 1 || opt.threads < 1 || opt.feature_dim < 1 || !(opt.lr > 0))
    throw Error(ErrorCode::kInvalidArgument, "--epochs, --batch, --threads, --feature-dim and --lr must be positive");
  const auto start = Clock::now();
  torch::set_num_threads(opt.threads);
  torch::manual_seed(opt.seed);

  const data::Dataset train_set = data::load_dataset(opt.data + ":train", opt.paths);
  const data::Dataset test_set = data::load_dataset(opt.data + ":test", opt.paths);
  BackboneInfo info;
  info.preprocess = spec_from(train_set);
  info.labels = train_set.class_names;
  const PreprocessSpec& spec = *info.preprocess;
  const torch::Tensor x_train = preprocess_all(train_set, spec), y_train = labels_of(train_set);
  const torch::Tensor x_test = preprocess_all(test_set, spec), y_test = labels_of(test_set);
  std::printf("%s: %lld training, %lld test images (%dx%d); mean %.4f, std %.4f; seed %llu, %d threads\n",
              opt.data.c_str(), static_cast<long long>(x_train.size(0)), static_cast<long long>(x_test.size(0)),
              spec.height, spec.width, spec.mean[0], spec.std[0], static_cast<unsigned long long>(opt.seed),
              opt.threads);

  CnnConfig config;
  config.height = spec.height;
  config.width = spec.width;
  config.feature_dim = opt.feature_dim;
  config.num_classes = static_cast<int>(info.labels.size());
  Cnn model(config);
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  std::printf("model: %lld parameters, feature width %d; styled training images: %g\n", static_cast<long long>(params),
              opt.feature_dim, opt.style_augment);
  std::mt19937_64 style_rng(opt.seed);

  torch::optim::SGD sgd(model->parameters(),
                        torch::optim::SGDOptions(opt.lr).momentum(0.9).nesterov(true).weight_decay(5e-4));
  const int64_t n = x_train.size(0);
  const int64_t steps_per_epoch = (n + opt.batch - 1) / opt.batch;
  const int64_t total_steps = steps_per_epoch * opt.epochs, warmup = std::min<int64_t>(steps_per_epoch, total_steps / 4);
  const float background = (0.0f - spec.mean[0]) / spec.std[0];
  const bool flips = opt.data == "fashion-mnist";
  int64_t step = 0;
  const auto train_start = Clock::now();
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    Progress bar("epoch " + std::to_string(epoch) + "/" + std::to_string(opt.epochs), n, "img");
    const torch::Tensor order = torch::randperm(n, torch::kInt64);
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    for (int64_t i = 0; i < n; i += opt.batch, ++step) {
      // Linear warm-up, then cosine decay to zero.
      const double lr = step < warmup ? opt.lr * (step + 1) / warmup
                                      : 0.5 * opt.lr * (1 + std::cos(M_PI * (step - warmup) / (total_steps - warmup)));
      for (auto& group : sgd.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      const torch::Tensor idx = order.narrow(0, i, std::min<int64_t>(opt.batch, n - i));
      const torch::Tensor batch = opt.style_augment > 0 ? styled_batch(train_set, idx, spec, opt.style_augment, style_rng)
                                                        : x_train.index_select(0, idx);
      const torch::Tensor x = augment(batch, background, 2, flips);
      const torch::Tensor y = y_train.index_select(0, idx);
      sgd.zero_grad();
      const torch::Tensor logits = model->forward(x).second;
      const torch::Tensor loss = torch::cross_entropy_loss(logits, y);
      loss.backward();
      sgd.step();
      const int64_t b = idx.size(0);
      loss_sum += loss.item<double>() * b;
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += b;
      bar.update(b, loss_sum / seen, double(correct) / seen);
    }
  }
  const double train_seconds = seconds_since(train_start);
  const double torch_test = torch_accuracy(model, x_test, y_test);
  std::printf("libtorch: test accuracy %.2f%% after %d epochs (%.0f s training)\n", 100 * torch_test, opt.epochs,
              train_seconds);

  model->eval();
  const std::vector<uint8_t> onnx = write_onnx(export_onnx(*model, info));
  {
    std::ofstream f(opt.out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(onnx.data()), static_cast<std::streamsize>(onnx.size()));
    if (!f) throw Error(ErrorCode::kIo, "cannot write '" + opt.out + "'");
  }
  std::printf("wrote %s (%zu bytes, sha256 %s)\n", opt.out.c_str(), onnx.size(), sha256_hex(onnx).c_str());

  const int64_t check = std::min<int64_t>(64, x_test.size(0));
  const double diff = max_engine_difference(*model, onnx, info, x_test.narrow(0, 0, check));
  std::printf("engine vs libtorch on %lld test images: max |diff| %.3g (features and logits)\n",
              static_cast<long long>(check), diff);
  if (!(diff <= 1e-4))
    throw Error(ErrorCode::kFormat, "the core engine's outputs differ from libtorch's by " + std::to_string(diff) +
                                        " (bound 1e-4): the export is wrong");

  engine::EngineOptions eo;
  eo.input_dims = {1, spec.channels, spec.height, spec.width};
  engine::Engine e = engine::Engine::load(onnx, eo);
  int64_t correct = 0;
  {
    Progress bar("engine test accuracy", x_test.size(0), "img");
    const int64_t per = x_test[0].numel();
    const torch::Tensor flat = x_test.contiguous();
    for (int64_t i = 0; i < x_test.size(0); ++i) {
      e.run(std::span<const float>(flat.data_ptr<float>() + i * per, static_cast<size_t>(per)));
      const std::vector<float> logits = e.read(info.logits);
      const int64_t best = std::max_element(logits.begin(), logits.end()) - logits.begin();
      correct += best == y_test[i].item<int64_t>();
      bar.update(1, -1, double(correct) / (i + 1));
    }
  }
  std::printf("engine: test accuracy %.2f%% (%lld/%lld)\n", 100.0 * correct / x_test.size(0),
              static_cast<long long>(correct), static_cast<long long>(x_test.size(0)));
  std::printf("wall time %.0f s\n", seconds_since(start));
}

}  // namespace iciia::train
