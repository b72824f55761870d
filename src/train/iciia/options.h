// Options of `iciia train` and `iciia eval`, apart from the code that runs
// them so the command line can register them without libtorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "adapt/shift_gate.h"
#include "train/iciia/attention.h"
#include "train/iciia/clients.h"

namespace iciia::train {

// One kind of client in a training mixture, drawn per sequence with
// probability weight / (sum of the weights).
struct MixEntry {
  ClientSpec clients;
  double weight = 1;
};

struct TrainOptions {
  char preset = 'B';
  Attention attention = Attention::kFull;
  // L = 2: on Fashion-MNIST features (d = 128) L = 1 saturated ~0.2 points
  // lower at k = 2, n = 16, for B and T alike, however long it trained.
  int layers = 2, heads = 4;
  int partitions = 0;  // 0: the preset's
  bool shuffle = true;
  ClientSpec clients;   // default: k uniform in [2, 3]; unused when `mix` is set
  // Non-empty: each training sequence is one client of a kind drawn from
  // here (kinds that need styles draw from the styled training set).
  std::vector<MixEntry> mix;
  int seq_len = 65;     // the longest sequence: a target and up to 64 history images
  int64_t steps = 600;  // used unless epochs > 0
  double epochs = 0;    // > 0: steps for this many passes over the images (batch * (seq_len + 1) / 2 per step)
  int batch = 32;
  double lr = 2e-3;     // peak; linear warm-up over 5% of the steps, then cosine to 0
  double weight_decay = 0.01;
  double dropout = 0.1;
  uint64_t seed = 1;
  int threads = 1;  // torch intra-op threads (0: torch's default); a seed repeats its result per count
  std::string label = "train";  // progress bar label; empty: no progress bar
};

struct EvalOptions {
  TrainOptions train;  // everything but preset, attention and seed; partitions applies to T only
  std::vector<uint64_t> seeds = {1, 2, 3};
  std::vector<ClientSpec> clients;  // default: k = 2, k = 3
  std::vector<int> ns = {0, 1, 2, 4, 8, 16, 32, 64};
  int64_t episodes = 5000;
  // Already trained weights for a method name (not retrained per seed; ff
  // cannot be saved and is always trained).
  std::map<std::string, std::string> weights;
  std::vector<std::string> skip;  // method names not to run
  // The "@gate" rows' shift-gate level (adapt/shift_gate.h).
  double gate_level = adapt::kDefaultShiftLevel;
  // Modules trained, and methods evaluated, at once (threads); results do
  // not depend on it: every training draws from its own generators.
  int jobs = 2;
  bool verbose = true;            // progress bars and one line per step on stderr
};

}  // namespace iciia::train
