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

// What a client photographs (docs/design.md, "Adaptation"; README, "How
// `iciia train` and `iciia eval` work"):
//  kLabels   k classes drawn uniformly per client, k uniform in [k_min,
//            k_max], or (groups non-empty) one group, drawn uniformly;
//            distinct images of them, each image's class uniform.
//  kRepeats  a few objects again and again: objects_min..objects_max distinct
//            source images, each position one of them under one of the
//            styled set's views; no view twice in a sequence, so the target
//            is never a view the history holds (a styled set is required).
//  kStyle    one style (camera, light) for all of the client's images, drawn
//            uniformly from the styled set's styles; every class (k_max = 0)
//            or, "mixed", k classes as kLabels (a styled set is required).
enum class ClientKind { kLabels, kRepeats, kStyle };

struct ClientSpec {
  int k_min = 2, k_max = 3;
  ClassGroups groups;
  ClientKind kind = ClientKind::kLabels;
  int objects_min = 3, objects_max = 5;  // kRepeats
  // "k=2", "k=2-3", "groups(3)", "repeats(3-5)", "style", "style+k=2"
  std::string describe() const;
  bool needs_styles() const { return kind != ClientKind::kLabels; }
};

// A client kind by name, as `--kinds` and `--mix` spell it: "k=K", "k=A-B",
// "groups" (needs `groups`), "repeats", "style", "mixed" (style + k=2).
// kInvalidArgument naming the accepted forms.
ClientSpec parse_client_kind(const std::string& name, const ClassGroups& groups);

// Throws kInvalidArgument if the two feature sets cannot be used together
// (feature width, classes, class names), naming both.
void check_compatible(const FeatureSet& a, const std::string& a_name, const FeatureSet& b,
                      const std::string& b_name);

// Draws client sequences of `seq_len` distinct images from `set`.
class ClientSampler {
 public:
  // Checks that every client the spec can produce is drawable: k within the
  // number of classes, each usable class holding at least seq_len images (so
  // a sequence never repeats an image; per style for kStyle), enough views
  // for kRepeats, a styled set for those kinds. Errors name `set_name` and
  // the class.
  ClientSampler(const FeatureSet& set, ClientSpec spec, int seq_len, std::string set_name);

  // One client: its classes (sorted) and seq_len image indices, each image's
  // class drawn uniformly from the client's classes, no image twice.
  void sample(std::mt19937_64& rng, std::vector<int>& classes, int64_t* images) const;

  int seq_len() const { return seq_len_; }
  const ClientSpec& spec() const { return spec_; }

 private:
  void sample_classes(std::mt19937_64& rng, std::vector<int>& classes) const;
  void sample_repeats(std::mt19937_64& rng, std::vector<int>& classes, int64_t* images) const;

  ClientSpec spec_;
  int seq_len_;
  int num_classes_ = 0, num_styles_ = 0;
  std::vector<std::vector<int64_t>> pools_;  // image indices per class; kStyle: per style * C + class
  // kRepeats: entry of source image o under style s at o * num_styles_ + s; labels per source.
  std::vector<int64_t> views_;
  std::vector<int> source_labels_;
};

// Uniform integer in [0, n): mt19937_64 is fully specified by the standard,
// std::uniform_int_distribution is not, so seeds reproduce across libraries.
inline int64_t uniform_index(std::mt19937_64& rng, int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); }

}  // namespace iciia::train
