// Simulated clients: which classes a client photographs, and sequences of its
// images drawn from a features file. Used by `iciia train` (training
// sequences) and `iciia eval` (held-out episodes). No libtorch here.
//
// Grouping file (`--groups`): one group per line, entries separated by
// commas, each a class name (as in the features file's class_names, case
// insensitive) or a class index; blank lines and text after '#' are ignored.
// A client of the grouping photographs exactly one group's classes. Example
// (models/groups/fashion-mnist.txt):
//     T-shirt/top, Pullover, Coat, Shirt   # tops
//     Sandal, Sneaker, Ankle boot          # footwear
//     Trouser, Dress, Bag
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "train/features_file.h"

namespace iciia::train {

using ClassGroups = std::vector<std::vector<int>>;

// Throws kFormat naming `source`, the line and the entry for an unknown
// class name, an index out of range, a class listed twice, or no group.
ClassGroups parse_groups(const std::string& text, const std::vector<std::string>& class_names,
                         const std::string& source);
// Reads and parses a grouping file (kIo if it cannot be read).
ClassGroups read_groups(const std::string& path, const std::vector<std::string>& class_names);

// Either k classes drawn uniformly per client, k uniform in [k_min, k_max],
// or (groups non-empty) one group per client, drawn uniformly.
struct ClientSpec {
  int k_min = 2, k_max = 3;
  ClassGroups groups;
  std::string describe() const;  // "k=2", "k=2-3", "groups(3)"
};

// Throws kInvalidArgument if the two feature sets cannot be used together
// (feature width, classes, class names), naming both.
void check_compatible(const FeatureSet& a, const std::string& a_name, const FeatureSet& b,
                      const std::string& b_name);

// Draws client sequences of `seq_len` distinct images from `set`.
class ClientSampler {
 public:
  // Checks that every client the spec can produce is drawable: k within the
  // number of classes, each usable class holding at least seq_len images (so
  // a sequence never repeats an image). Errors name `set_name` and the class.
  ClientSampler(const FeatureSet& set, ClientSpec spec, int seq_len, std::string set_name);

  // One client: its classes (sorted) and seq_len image indices, each image's
  // class drawn uniformly from the client's classes, no image twice.
  void sample(std::mt19937_64& rng, std::vector<int>& classes, int64_t* images) const;

  int seq_len() const { return seq_len_; }
  const ClientSpec& spec() const { return spec_; }

 private:
  ClientSpec spec_;
  int seq_len_;
  std::vector<std::vector<int64_t>> pools_;  // image indices per class
};

// Uniform integer in [0, n): mt19937_64 is fully specified by the standard,
// std::uniform_int_distribution is not, so seeds reproduce across libraries.
inline int64_t uniform_index(std::mt19937_64& rng, int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); }

}  // namespace iciia::train
