// One-time training of the ICIIA module on precomputed backbone features
// (the backbone is frozen): every step draws a batch of simulated clients,
// each a sequence of its images, and trains all positions of each sequence.
//
// Why all positions: without positional encodings, `full` attention is
// permutation-equivariant, so every position of a length-S sequence is "a
// target with a history of the other S-1 images" — exactly the inference
// situation; the sequence length is drawn uniformly from [1, seq_len] per
// step so every history length 0..seq_len-1 is trained. With `causal`
// attention position i is a target with a history of i images, so one
// sequence of seq_len trains every history length at once; a causal step
// takes half the batch at full length, about the positions of a full step. `ff` ignores the
// history, so it is an ordinary classifier head trained on the same images
// (drawn as for `full`).
#pragma once

#include <cstdint>
#include <string>

#include "iciia/config.h"
#include "train/features_file.h"
#include "train/iciia/iciia_net.h"
#include "train/iciia/options.h"

namespace iciia::train {

// Partitions of the paper's presets for feature width `dim`:
//  'B': 1.
//  'T': the paper uses g = 256 at d = 1280 (5 features per partition); here
//       the largest g dividing dim with dim/g >= 4 features per partition,
//       so no padding is needed and a partition keeps a few features to mix.
// Throws kInvalidArgument for another preset letter.
int preset_partitions(char preset, int dim);


// The module's hyper-parameters for `options` on features of `dim` x `classes`.
IciiaConfig train_config(const TrainOptions& options, int dim, int classes);
// Steps `options` asks for on a set of `images` images.
int64_t train_steps(const TrainOptions& options, int64_t images);

struct TrainResult {
  IciiaNet net;
  int64_t steps = 0;
  double seconds = 0;
  double final_loss = 0, final_accuracy = 0;  // running means over the last ~100 steps
};

// Deterministic for a seed and a torch thread count (intra-op reductions
// split by thread): initialisation, dropout and client draws come from
// generators of its own, so concurrent trainings do not disturb each other.
// Sets torch's thread count to options.threads when > 0.
// `set_name` names `set` in errors. `styled` (extract --styles of the
// training split) is what the kinds of options.mix that need styles draw
// from; kInvalidArgument if such a kind is asked for without it.
TrainResult train_iciia(const FeatureSet& set, const std::string& set_name, const TrainOptions& options,
                        const FeatureSet* styled = nullptr, const std::string& styled_name = "");
// "style: 2, k=1-6: 4, groups" -> kinds with weights (1 when omitted);
// kInvalidArgument for a bad weight, and parse_client_kind's errors.
std::vector<MixEntry> parse_mix(const std::string& text, const ClassGroups& groups);
std::string describe_mix(const std::vector<MixEntry>& mix);

}  // namespace iciia::train
