// `iciia train-backbone`: trains the compact CNN of cnn.h on Fashion-MNIST
// or MNIST, exports it with the project's ONNX writer and checks the core
// engine against libtorch on the exported file. This header has no torch in
// it, so the CLI can register the subcommand in builds without libtorch.
#pragma once

#include <cstdint>
#include <string>

#include "train/data/dataset.h"

namespace iciia::train {

struct TrainBackboneOptions {
  std::string data = "fashion-mnist";  // or "mnist"
  std::string out = "backbone.onnx";
  uint64_t seed = 1;
  int epochs = 10;
  int batch = 128;
  double lr = 0.1;  // peak of the warm-up + cosine schedule (SGD, Nesterov momentum 0.9)
  // Fixed, so a seed gives the same weights on every run: intra-op
  // parallelism splits work by thread count, and reduction order with it.
  // One by default: on a shared 2-core machine two OpenMP threads ran 2-3x
  // slower than one (threads wait at barriers for a descheduled peer).
  int threads = 1;
  int feature_dim = 128;
  // Probability that a training image is shown under a freshly drawn
  // appearance style (data/style.h) before the shift/flip augmentation: a
  // cloud model trained on many users' photos has seen many cameras. 0: off.
  double style_augment = 0;
  data::DataPaths paths;
};

// Prints progress and the figures (train/test accuracy, engine-vs-torch
// difference, engine test accuracy, wall times); throws iciia::Error on bad
// options or data, and kFormat when the engine disagrees with libtorch.
void train_backbone(const TrainBackboneOptions& options);

}  // namespace iciia::train
