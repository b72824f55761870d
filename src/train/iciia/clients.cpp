#include "train/iciia/clients.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include "util/error.h"

namespace iciia::train {

namespace {

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string class_label(const std::vector<std::string>& names, int c) {
  return "'" + names[static_cast<size_t>(c)] + "' (" + std::to_string(c) + ")";
}

}  // namespace

ClassGroups parse_groups(const std::string& text, const std::vector<std::string>& class_names,
                         const std::string& source) {
  ClassGroups groups;
  std::vector<int> line_of(class_names.size(), 0);  // where each class was first listed
  std::istringstream in(text);
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    const std::string where = source + ":" + std::to_string(line_no);
    std::vector<int> group;
    std::istringstream entries(line);
    std::string entry;
    while (std::getline(entries, entry, ',')) {
      entry = trim(entry);
      if (entry.empty()) throw Error(ErrorCode::kFormat, where + ": empty class entry (two commas in a row?)");
      int c = -1;
      auto [ptr, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), c);
      if (ec == std::errc() && ptr == entry.data() + entry.size()) {
        if (c < 0 || c >= static_cast<int>(class_names.size()))
          throw Error(ErrorCode::kFormat, where + ": class index " + entry + " is out of range: the features have " +
                                              std::to_string(class_names.size()) + " classes (0 to " +
                                              std::to_string(class_names.size() - 1) + ")");
      } else {
        for (size_t i = 0; i < class_names.size() && c < 0; ++i)
          if (lower(class_names[i]) == lower(entry)) c = static_cast<int>(i);
        if (c < 0) {
          std::string known;
          for (const auto& n : class_names) known += (known.empty() ? "" : ", ") + n;
          throw Error(ErrorCode::kFormat, where + ": unknown class '" + entry + "' (the features' classes: " + known + ")");
        }
      }
      if (line_of[static_cast<size_t>(c)] != 0)
        throw Error(ErrorCode::kFormat, where + ": class " + class_label(class_names, c) + " is already listed on line " +
                                            std::to_string(line_of[static_cast<size_t>(c)]) +
                                            " (a class belongs to one group)");
      line_of[static_cast<size_t>(c)] = line_no;
      group.push_back(c);
    }
    std::sort(group.begin(), group.end());
    groups.push_back(std::move(group));
  }
  if (groups.empty()) throw Error(ErrorCode::kFormat, source + ": no groups (one comma-separated group per line)");
  return groups;
}

ClassGroups read_groups(const std::string& path, const std::vector<std::string>& class_names) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kIo, "cannot read the grouping file " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_groups(text.str(), class_names, path);
}

std::string ClientSpec::describe() const {
  if (!groups.empty()) return "groups(" + std::to_string(groups.size()) + ")";
  if (k_min == k_max) return "k=" + std::to_string(k_min);
  return "k=" + std::to_string(k_min) + "-" + std::to_string(k_max);
}

void check_compatible(const FeatureSet& a, const std::string& a_name, const FeatureSet& b,
                      const std::string& b_name) {
  const std::string both = a_name + " and " + b_name;
  if (a.dim != b.dim)
    throw Error(ErrorCode::kInvalidArgument, both + " have different feature widths (" + std::to_string(a.dim) +
                                                 " vs " + std::to_string(b.dim) + "): not the same backbone");
  if (a.num_classes != b.num_classes)
    throw Error(ErrorCode::kInvalidArgument, both + " have different class counts (" +
                                                 std::to_string(a.num_classes) + " vs " +
                                                 std::to_string(b.num_classes) + ")");
  for (size_t c = 0; c < a.class_names.size() && c < b.class_names.size(); ++c)
    if (a.class_names[c] != b.class_names[c])
      throw Error(ErrorCode::kInvalidArgument, both + " name class " + std::to_string(c) + " differently ('" +
                                                   a.class_names[c] + "' vs '" + b.class_names[c] + "')");
  if (!a.backbone_sha256.empty() && !b.backbone_sha256.empty() && a.backbone_sha256 != b.backbone_sha256)
    throw Error(ErrorCode::kInvalidArgument, both + " come from different backbones (sha256 " + a.backbone_sha256 +
                                                 " vs " + b.backbone_sha256 + ")");
}

ClientSampler::ClientSampler(const FeatureSet& set, ClientSpec spec, int seq_len, std::string set_name)
    : spec_(std::move(spec)), seq_len_(seq_len) {
  const int C = static_cast<int>(set.num_classes);
  if (seq_len < 1) throw Error(ErrorCode::kInvalidArgument, "sequence length " + std::to_string(seq_len) + " < 1");
  if (static_cast<int64_t>(set.labels.size()) != set.count)
    throw Error(ErrorCode::kInvalidArgument, set_name + ": " + std::to_string(set.labels.size()) + " labels for " +
                                                 std::to_string(set.count) + " images");
  pools_.resize(static_cast<size_t>(C));
  for (int64_t i = 0; i < set.count; ++i) {
    const int32_t y = set.labels[static_cast<size_t>(i)];
    if (y < 0 || y >= C)
      throw Error(ErrorCode::kInvalidArgument, set_name + ": image " + std::to_string(i) + " has label " +
                                                   std::to_string(y) + " outside [0, " + std::to_string(C) + ")");
    pools_[static_cast<size_t>(y)].push_back(i);
  }
  auto name = [&](int c) {
    return c < static_cast<int>(set.class_names.size()) ? class_label(set.class_names, c) : std::to_string(c);
  };
  std::vector<int> used;
  if (spec_.groups.empty()) {
    if (spec_.k_min < 1 || spec_.k_min > spec_.k_max)
      throw Error(ErrorCode::kInvalidArgument, "classes per client " + spec_.describe() +
                                                   ": expected 1 <= k_min <= k_max");
    if (spec_.k_max > C)
      throw Error(ErrorCode::kInvalidArgument, "classes per client " + spec_.describe() + ": " + set_name +
                                                   " has only " + std::to_string(C) + " classes");
    for (int c = 0; c < C; ++c) used.push_back(c);
  } else {
    for (const auto& g : spec_.groups) {
      if (g.empty()) throw Error(ErrorCode::kInvalidArgument, "a class group is empty");
      for (int c : g) {
        if (c < 0 || c >= C)
          throw Error(ErrorCode::kInvalidArgument, "class group names class " + std::to_string(c) + " but " +
                                                       set_name + " has " + std::to_string(C) + " classes");
        used.push_back(c);
      }
    }
  }
  for (int c : used)
    if (static_cast<int>(pools_[static_cast<size_t>(c)].size()) < seq_len)
      throw Error(ErrorCode::kInvalidArgument,
                  set_name + ": class " + name(c) + " has " + std::to_string(pools_[static_cast<size_t>(c)].size()) +
                      " images; every class a client can draw needs at least " + std::to_string(seq_len) +
                      " (the sequence length) so a sequence never repeats an image");
}

void ClientSampler::sample(std::mt19937_64& rng, std::vector<int>& classes, int64_t* images) const {
  classes.clear();
  if (!spec_.groups.empty()) {
    classes = spec_.groups[static_cast<size_t>(uniform_index(rng, static_cast<int64_t>(spec_.groups.size())))];
  } else {
    const int k = spec_.k_min + static_cast<int>(uniform_index(rng, spec_.k_max - spec_.k_min + 1));
    // Partial Fisher-Yates over the class ids.
    std::vector<int> all(pools_.size());
    for (size_t c = 0; c < all.size(); ++c) all[c] = static_cast<int>(c);
    for (int i = 0; i < k; ++i) {
      const int64_t j = i + uniform_index(rng, static_cast<int64_t>(all.size()) - i);
      std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(j)]);
      classes.push_back(all[static_cast<size_t>(i)]);
    }
    std::sort(classes.begin(), classes.end());
  }
  // Rejection keeps images distinct; every pool holds >= seq_len images, so
  // it always terminates, and pools far larger than seq_len rarely retry.
  for (int s = 0; s < seq_len_; ++s) {
    const auto& pool = pools_[static_cast<size_t>(classes[static_cast<size_t>(uniform_index(rng, static_cast<int64_t>(classes.size())))])];
    int64_t image;
    do image = pool[static_cast<size_t>(uniform_index(rng, static_cast<int64_t>(pool.size())))];
    while (std::find(images, images + s, image) != images + s);
    images[s] = image;
  }
}

}  // namespace iciia::train
