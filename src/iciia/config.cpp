#include "iciia/config.h"

#include <charconv>

#include "util/error.h"

namespace iciia {

namespace {

constexpr const char* kFormatVersion = "iciia/1";
// Far above any real model, low enough that derived sizes fit in int32.
constexpr int kMaxDim = 1 << 16;
constexpr int kMaxClasses = 1 << 20;
constexpr int kMaxLayers = 64;

const std::string& require(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  if (it == m.end())
    throw Error(ErrorCode::kFormat, "ICIIA weights: __metadata__ has no '" + key + "' (expected keys: format, dim, "
                                    "num_classes, num_heads, num_layers, num_partitions, shuffle, attention)");
  return it->second;
}

int parse_int(const std::map<std::string, std::string>& m, const std::string& key, int lo, int hi) {
  const std::string& s = require(m, key);
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < lo || v > hi)
    throw Error(ErrorCode::kFormat, "ICIIA weights: __metadata__ '" + key + "' is \"" + s +
                                        "\", expected an integer in [" + std::to_string(lo) + ", " +
                                        std::to_string(hi) + "]");
  return v;
}

}  // namespace

const char* attention_mode_name(AttentionMode mode) { return mode == AttentionMode::kCausal ? "causal" : "full"; }

void IciiaConfig::validate() const {
  auto fail = [](const std::string& what) { throw Error(ErrorCode::kFormat, "ICIIA config: " + what); };
  if (dim < 1 || dim > kMaxDim) fail("dim " + std::to_string(dim) + " outside [1, " + std::to_string(kMaxDim) + "]");
  if (num_classes < 1 || num_classes > kMaxClasses) fail("num_classes " + std::to_string(num_classes) + " out of range");
  if (num_layers < 1 || num_layers > kMaxLayers) fail("num_layers " + std::to_string(num_layers) + " out of range");
  if (num_partitions < 1 || num_partitions > dim)
    fail("num_partitions " + std::to_string(num_partitions) + " must be in [1, dim=" + std::to_string(dim) + "]");
  if (num_heads < 1 || work_dim() % num_heads != 0)
    fail("num_heads " + std::to_string(num_heads) + " must divide the encoder width " + std::to_string(work_dim()) +
         " (num_partitions * partition size)");
}

IciiaConfig IciiaConfig::from_metadata(const std::map<std::string, std::string>& m) {
  const std::string& format = require(m, "format");
  if (format != kFormatVersion)
    throw Error(ErrorCode::kUnsupported,
                "ICIIA weights: format \"" + format + "\" is not supported (expected \"" + kFormatVersion + "\")");
  IciiaConfig c;
  c.dim = parse_int(m, "dim", 1, kMaxDim);
  c.num_classes = parse_int(m, "num_classes", 1, kMaxClasses);
  c.num_heads = parse_int(m, "num_heads", 1, kMaxDim);
  c.num_layers = parse_int(m, "num_layers", 1, kMaxLayers);
  c.num_partitions = parse_int(m, "num_partitions", 1, kMaxDim);
  c.shuffle = parse_int(m, "shuffle", 0, 1) == 1;
  const std::string& att = require(m, "attention");
  if (att == "full")
    c.attention = AttentionMode::kFull;
  else if (att == "causal")
    c.attention = AttentionMode::kCausal;
  else
    throw Error(ErrorCode::kFormat, "ICIIA weights: __metadata__ 'attention' is \"" + att +
                                        "\", expected \"full\" or \"causal\"");
  c.validate();
  return c;
}

std::map<std::string, std::string> IciiaConfig::to_metadata() const {
  return {{"format", kFormatVersion},
          {"dim", std::to_string(dim)},
          {"num_classes", std::to_string(num_classes)},
          {"num_heads", std::to_string(num_heads)},
          {"num_layers", std::to_string(num_layers)},
          {"num_partitions", std::to_string(num_partitions)},
          {"shuffle", shuffle ? "1" : "0"},
          {"attention", attention_mode_name(attention)}};
}

}  // namespace iciia
