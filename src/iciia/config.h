// ICIIA hyper-parameters and the `__metadata__` keys that carry them.
#pragma once

#include <map>
#include <string>

namespace iciia {

enum class AttentionMode {
  kFull,    // the paper: every position attends to every position
  kCausal,  // ours: a position attends to itself and earlier positions only
};

const char* attention_mode_name(AttentionMode mode);

struct IciiaConfig {
  int dim = 0;             // d: feature width the backbone produces
  int num_classes = 0;     // C
  int num_heads = 1;       // h
  int num_layers = 1;      // L
  int num_partitions = 1;  // g
  bool shuffle = true;
  AttentionMode attention = AttentionMode::kFull;

  // Partition p covers features [floor(p*d/g), floor((p+1)*d/g)); each is
  // zero-padded to the widest, partition_size(), so the encoder works in
  // work_dim() = g * partition_size().
  int partition_size() const { return (dim + num_partitions - 1) / num_partitions; }
  int work_dim() const { return num_partitions * partition_size(); }
  int head_dim() const { return work_dim() / num_heads; }
  int partition_begin(int p) const { return static_cast<int>(static_cast<long long>(p) * dim / num_partitions); }

  // Throws kFormat naming the offending value; bounds keep allocations sane
  // for an untrusted file.
  void validate() const;

  // Reads format, dim, num_classes, num_heads, num_layers, num_partitions,
  // shuffle, attention. Missing or malformed keys throw kFormat naming them;
  // a format other than iciia/1 throws kUnsupported.
  static IciiaConfig from_metadata(const std::map<std::string, std::string>& metadata);
  std::map<std::string, std::string> to_metadata() const;
};

}  // namespace iciia
