#include "train/iciia/clients.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
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
  const std::string k = k_min == k_max ? "k=" + std::to_string(k_min)
                                       : "k=" + std::to_string(k_min) + "-" + std::to_string(k_max);
  switch (kind) {
    case ClientKind::kRepeats:
      return "repeats(" + std::to_string(objects_min) +
             (objects_min == objects_max ? "" : "-" + std::to_string(objects_max)) + ")";
    case ClientKind::kStyle: {
      std::string out = "style";
      if (k_max != 0) out += "+" + k;
      return out;
    }
    case ClientKind::kLabels:
      break;
  }
  if (!groups.empty()) return "groups(" + std::to_string(groups.size()) + ")";
  return k;
}

ClientSpec parse_client_kind(const std::string& name, const ClassGroups& groups) {
  ClientSpec spec;
  auto range = [&](const std::string& text) {
    int a = 0, b = 0;
    const size_t dash = text.find('-');
    auto num = [&](const std::string& t, int& v) {
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      return ec == std::errc() && ptr == t.data() + t.size() && !t.empty();
    };
    bool ok;
    if (dash == std::string::npos) {
      ok = num(text, a);
      b = a;
    } else {
      ok = num(text.substr(0, dash), a) && num(text.substr(dash + 1), b);
    }
    if (!ok || a < 1 || b < a)
      throw Error(ErrorCode::kInvalidArgument, "client kind '" + name + "': expected k=K or k=KMIN-KMAX, 1 <= KMIN <= KMAX");
    spec.k_min = a;
    spec.k_max = b;
  };
  if (name.rfind("k=", 0) == 0) {
    range(name.substr(2));
  } else if (name == "groups") {
    if (groups.empty()) throw Error(ErrorCode::kInvalidArgument, "client kind 'groups' needs --groups FILE");
    spec.groups = groups;
  } else if (name == "repeats") {
    spec.kind = ClientKind::kRepeats;
  } else if (name == "style") {
    spec.kind = ClientKind::kStyle;
    spec.k_min = spec.k_max = 0;
  } else if (name == "mixed") {
    spec.kind = ClientKind::kStyle;
    spec.k_min = spec.k_max = 2;
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "client kind '" + name + "': expected k=K, k=KMIN-KMAX, groups, repeats, style or mixed");
  }
  return spec;
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
  num_classes_ = C;
  if (spec_.needs_styles()) {
    if (!set.styled())
      throw Error(ErrorCode::kInvalidArgument, "clients " + spec_.describe() + " need a styled features file (iciia "
                                               "extract --styles N), but " + set_name + " is not one");
    num_styles_ = set.num_styles();
  }
  const bool by_style = spec_.kind == ClientKind::kStyle;
  pools_.resize(static_cast<size_t>(by_style ? num_styles_ * C : C));
  for (int64_t i = 0; i < set.count; ++i) {
    const int32_t y = set.labels[static_cast<size_t>(i)];
    if (y < 0 || y >= C)
      throw Error(ErrorCode::kInvalidArgument, set_name + ": image " + std::to_string(i) + " has label " +
                                                   std::to_string(y) + " outside [0, " + std::to_string(C) + ")");
    const size_t pool = by_style ? static_cast<size_t>(set.styles[static_cast<size_t>(i)]) * C + y : static_cast<size_t>(y);
    pools_[pool].push_back(i);
  }
  if (spec_.kind == ClientKind::kRepeats) {
    if (spec_.objects_min < 1 || spec_.objects_min > spec_.objects_max)
      throw Error(ErrorCode::kInvalidArgument, "clients " + spec_.describe() + ": expected 1 <= objects_min <= objects_max");
    if (static_cast<int64_t>(spec_.objects_min) * num_styles_ < seq_len)
      throw Error(ErrorCode::kInvalidArgument,
                  "clients " + spec_.describe() + ": " + std::to_string(spec_.objects_min) + " objects x " +
                      std::to_string(num_styles_) + " views of " + set_name + " cannot fill a sequence of " +
                      std::to_string(seq_len) + " without showing a view twice (extract more --styles)");
    std::map<int32_t, int> object_of;  // source image -> object id, in source order
    for (int64_t i = 0; i < set.count; ++i) object_of.emplace(set.sources[static_cast<size_t>(i)], 0);
    int next = 0;
    for (auto& [src, id] : object_of) id = next++;
    views_.assign(static_cast<size_t>(next) * num_styles_, -1);
    source_labels_.assign(static_cast<size_t>(next), -1);
    for (int64_t i = 0; i < set.count; ++i) {
      const int o = object_of.at(set.sources[static_cast<size_t>(i)]);
      views_[static_cast<size_t>(o) * num_styles_ + set.styles[static_cast<size_t>(i)]] = i;
      source_labels_[static_cast<size_t>(o)] = set.labels[static_cast<size_t>(i)];
    }
    for (size_t v = 0; v < views_.size(); ++v)
      if (views_[v] < 0)
        throw Error(ErrorCode::kInvalidArgument, set_name + ": source image " + std::to_string(v / num_styles_) +
                                                     " has no entry for style " + std::to_string(v % num_styles_) +
                                                     " (a styled set holds every image under every style)");
    if (spec_.objects_max > next)
      throw Error(ErrorCode::kInvalidArgument, "clients " + spec_.describe() + ": " + set_name + " holds only " +
                                                   std::to_string(next) + " source images");
    return;
  }
  auto name = [&](int c) {
    return c < static_cast<int>(set.class_names.size()) ? class_label(set.class_names, c) : std::to_string(c);
  };
  std::vector<int> used;
  if (by_style && spec_.k_max == 0) {
    for (int c = 0; c < C; ++c) used.push_back(c);
  } else if (spec_.groups.empty()) {
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
  for (int s = 0; s < (by_style ? num_styles_ : 1); ++s)
    for (int c : used) {
      const auto& pool = pools_[static_cast<size_t>(s) * C + c];
      if (static_cast<int>(pool.size()) < seq_len)
        throw Error(ErrorCode::kInvalidArgument,
                    set_name + ": class " + name(c) + (by_style ? " under style " + std::to_string(s) : "") + " has " +
                        std::to_string(pool.size()) + " images; every class a client can draw needs at least " +
                        std::to_string(seq_len) + " (the sequence length) so a sequence never repeats an image");
    }
}

void ClientSampler::sample_classes(std::mt19937_64& rng, std::vector<int>& classes) const {
  classes.clear();
  if (!spec_.groups.empty()) {
    classes = spec_.groups[static_cast<size_t>(uniform_index(rng, static_cast<int64_t>(spec_.groups.size())))];
  } else if (spec_.k_max == 0) {  // style: every class
    for (int c = 0; c < num_classes_; ++c) classes.push_back(c);
  } else {
    const int k = spec_.k_min + static_cast<int>(uniform_index(rng, spec_.k_max - spec_.k_min + 1));
    // Partial Fisher-Yates over the class ids.
    std::vector<int> all(static_cast<size_t>(num_classes_));
    for (size_t c = 0; c < all.size(); ++c) all[c] = static_cast<int>(c);
    for (int i = 0; i < k; ++i) {
      const int64_t j = i + uniform_index(rng, static_cast<int64_t>(all.size()) - i);
      std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(j)]);
      classes.push_back(all[static_cast<size_t>(i)]);
    }
    std::sort(classes.begin(), classes.end());
  }
}

void ClientSampler::sample_repeats(std::mt19937_64& rng, std::vector<int>& classes, int64_t* images) const {
  const int64_t objects_total = static_cast<int64_t>(source_labels_.size());
  const int r = spec_.objects_min + static_cast<int>(uniform_index(rng, spec_.objects_max - spec_.objects_min + 1));
  std::vector<int64_t> objects;
  while (static_cast<int>(objects.size()) < r) {
    const int64_t o = uniform_index(rng, objects_total);
    if (std::find(objects.begin(), objects.end(), o) == objects.end()) objects.push_back(o);
  }
  classes.clear();
  for (int64_t o : objects) classes.push_back(source_labels_[static_cast<size_t>(o)]);
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  // r * styles >= seq_len (checked), so the rejection always terminates.
  for (int s = 0; s < seq_len_; ++s) {
    int64_t view;
    do {
      const int64_t o = objects[static_cast<size_t>(uniform_index(rng, r))];
      view = views_[static_cast<size_t>(o * num_styles_ + uniform_index(rng, num_styles_))];
    } while (std::find(images, images + s, view) != images + s);
    images[s] = view;
  }
}

void ClientSampler::sample(std::mt19937_64& rng, std::vector<int>& classes, int64_t* images) const {
  if (spec_.kind == ClientKind::kRepeats) return sample_repeats(rng, classes, images);
  sample_classes(rng, classes);
  const size_t base = spec_.kind == ClientKind::kStyle
                          ? static_cast<size_t>(uniform_index(rng, num_styles_)) * static_cast<size_t>(num_classes_)
                          : 0;
  // Rejection keeps images distinct; every pool holds >= seq_len images, so
  // it always terminates, and pools far larger than seq_len rarely retry.
  for (int s = 0; s < seq_len_; ++s) {
    const auto& pool = pools_[base + static_cast<size_t>(classes[static_cast<size_t>(uniform_index(rng, static_cast<int64_t>(classes.size())))])];
    int64_t image;
    do image = pool[static_cast<size_t>(uniform_index(rng, static_cast<int64_t>(pool.size())))];
    while (std::find(images, images + s, image) != images + s);
    images[s] = image;
  }
}

}  // namespace iciia::train
