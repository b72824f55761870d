#include "pipeline/bundle.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/sha256.h"

namespace iciia {
namespace {

using Json = nlohmann::ordered_json;

// Errors say where: `source` (the manifest, a file, a command-line option)
// and the dotted field.
struct Where {
  const std::string& source;
  [[noreturn]] void bad(const std::string& field, const std::string& why) const {
    throw Error(ErrorCode::kFormat, source + ": " + field + ": " + why);
  }
};

std::string show(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

const Json& member(const Where& w, const Json& obj, const std::string& path, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end()) w.bad(path + key, "missing");
  return *it;
}

std::string string_field(const Where& w, const Json& obj, const std::string& path, const char* key,
                         size_t max_len = 4096) {
  const Json& v = member(w, obj, path, key);
  if (!v.is_string()) w.bad(path + key, std::string("expected a string, got ") + v.type_name());
  const std::string s = v.get<std::string>();
  if (s.empty() || s.size() > max_len) w.bad(path + key, "expected 1 to " + std::to_string(max_len) + " characters");
  return s;
}

const Json& object_field(const Where& w, const Json& obj, const std::string& path, const char* key) {
  const Json& v = member(w, obj, path, key);
  if (!v.is_object()) w.bad(path + key, std::string("expected an object, got ") + v.type_name());
  return v;
}

double number(const Where& w, const Json& v, const std::string& field) {
  if (!v.is_number()) w.bad(field, std::string("expected a number, got ") + v.type_name());
  return v.get<double>();
}

int positive_int(const Where& w, const Json& v, const std::string& field, int max) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > max)
    w.bad(field, "expected an integer in [1, " + std::to_string(max) + "], got " + show(v));
  return v.get<int>();
}

std::vector<std::string> strings(const Where& w, const Json& v, const std::string& field, size_t max_count) {
  if (!v.is_array() || v.empty() || v.size() > max_count)
    w.bad(field, "expected a non-empty array of at most " + std::to_string(max_count) + " strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) w.bad(field + "[" + std::to_string(i) + "]", "expected a string");
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

BundleManifest::File file_field(const Where& w, const Json& root, const char* key) {
  const std::string path = std::string(key) + ".";
  const Json& obj = object_field(w, root, "", key);
  BundleManifest::File f;
  f.file = string_field(w, obj, path, "file");
  // Relative names inside the bundle only: a manifest must not reach
  // outside its folder or URL prefix.
  if (f.file.find("..") != std::string::npos || f.file.front() == '/' || f.file.find(':') != std::string::npos ||
      f.file.find('\\') != std::string::npos)
    w.bad(path + "file", "'" + f.file + "' must be a plain relative name inside the bundle");
  f.sha256 = string_field(w, obj, path, "sha256");
  if (f.sha256.size() != 64 || f.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
    w.bad(path + "sha256", "expected 64 lowercase hex digits");
  return f;
}

std::vector<float> per_channel(const Where& w, const Json& pre, const std::string& path, const char* key,
                               int channels) {
  const std::string field = path + key;
  const Json& v = member(w, pre, path, key);
  if (!v.is_array() || static_cast<int>(v.size()) != channels)
    w.bad(field, "expected an array of " + std::to_string(channels) + " numbers (one per channel)");
  std::vector<float> out;
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(static_cast<float>(number(w, v[i], field + "[" + std::to_string(i) + "]")));
  return out;
}

// `path` ends with '.' ("backbone.preprocess.").
PreprocessSpec preprocess_from_json(const Where& w, const Json& pre, const std::string& path) {
  const std::string self = path.substr(0, path.size() - 1);
  if (!pre.is_object()) w.bad(self, "expected an object");
  PreprocessSpec p;
  const Json& size = member(w, pre, path, "size");
  if (!size.is_array() || size.size() != 2) w.bad(path + "size", "expected [height, width]");
  p.height = positive_int(w, size[0], path + "size[0]", 4096);
  p.width = positive_int(w, size[1], path + "size[1]", 4096);
  p.channels = positive_int(w, member(w, pre, path, "channels"), path + "channels", 3);
  if (p.channels != 1 && p.channels != 3) w.bad(path + "channels", "expected 1 or 3");
  p.mean = per_channel(w, pre, path, "mean", p.channels);
  p.std = per_channel(w, pre, path, "std", p.channels);
  p.scale = static_cast<float>(number(w, member(w, pre, path, "scale"), path + "scale"));
  try {
    check_preprocess_spec(p);
  } catch (const Error& e) {
    w.bad(self, e.what());
  }
  return p;
}

// The float as the double of its shortest decimal form that reads back to
// it: manifests stay readable, and a reader that parses doubles and narrows
// to float gets the same value.
double shortest(float v) {
  char buf[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return std::strtod(buf, nullptr);
}

Json preprocess_to_json(const PreprocessSpec& p) {
  try {
    check_preprocess_spec(p);
  } catch (const Error& e) {
    throw Error(ErrorCode::kInvalidArgument, std::string("manifest: preprocessing: ") + e.what());
  }
  Json j = Json::object();
  j["size"] = {p.height, p.width};
  j["channels"] = p.channels;
  j["mean"] = Json::array();
  for (float v : p.mean) j["mean"].push_back(shortest(v));
  j["std"] = Json::array();
  for (float v : p.std) j["std"].push_back(shortest(v));
  j["scale"] = shortest(p.scale);
  return j;
}

Json parse_json(const Where& w, std::string_view text) {
  if (text.size() > kMaxManifestBytes)
    throw Error(ErrorCode::kLimit, w.source + ": " + std::to_string(text.size()) + " bytes, more than the " +
                                       std::to_string(kMaxManifestBytes) + " accepted");
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(ErrorCode::kFormat, w.source + ": not valid JSON");
  if (!j.is_object()) w.bad("(root)", "expected a JSON object");
  return j;
}

// Runs a parser; a type or range surprise inside the JSON library (a number
// too large for its type, say) is still malformed input, not a crash.
template <typename F>
auto guarded(const std::string& source, F&& parse) {
  try {
    return parse();
  } catch (const Json::exception& e) {
    throw Error(ErrorCode::kFormat, source + ": " + e.what());
  }
}

void check_source_prior(const BundleManifest& m, const std::function<void(const std::string&)>& fail) {
  if (m.source_prior.empty()) return;
  if (m.source_prior.size() != m.labels.size())
    fail("adaptation.source_prior: " + std::to_string(m.source_prior.size()) + " entries for " +
         std::to_string(m.labels.size()) + " labels");
  for (double p : m.source_prior)
    if (!(p >= 0) || !std::isfinite(p)) fail("adaptation.source_prior: expected finite numbers >= 0");
}

BundleManifest parse_manifest_checked(std::string_view text, const Where& w) {
  const Json root = parse_json(w, text);
  const std::string format = string_field(w, root, "", "format");
  if (format != kBundleFormat)
    throw Error(ErrorCode::kUnsupported,
                w.source + ": format '" + format + "', this build reads '" + kBundleFormat + "'");
  BundleManifest m;
  if (root.contains("name")) m.name = string_field(w, root, "", "name");
  m.backbone = file_field(w, root, "backbone");
  const Json& bb = root["backbone"];
  m.input = string_field(w, bb, "backbone.", "input");
  m.features = string_field(w, bb, "backbone.", "features");
  m.logits = string_field(w, bb, "backbone.", "logits");
  m.preprocess = preprocess_from_json(w, object_field(w, bb, "backbone.", "preprocess"), "backbone.preprocess.");
  if (root.contains("iciia")) m.iciia = file_field(w, root, "iciia");
  m.labels = strings(w, member(w, root, "", "labels"), "labels", kMaxLabels);

  if (root.contains("adaptation")) {
    const Json& a = object_field(w, root, "", "adaptation");
    if (a.contains("default")) {
      const std::string name = string_field(w, a, "adaptation.", "default", 16);
      m.adaptation = adaptation_from_name(name);
      if (!m.adaptation) w.bad("adaptation.default", "'" + name + "': expected 'iciia', 'prior' or 'none'");
      if (*m.adaptation == Adaptation::kIciia && !m.iciia)
        w.bad("adaptation.default", "'iciia' needs the ICIIA weights (the manifest has no \"iciia\" file)");
    }
    if (a.contains("source_prior")) {
      const Json& p = a["source_prior"];
      if (!p.is_array() || p.size() != m.labels.size())
        w.bad("adaptation.source_prior", "expected an array of " + std::to_string(m.labels.size()) +
                                             " numbers (one per label)");
      double sum = 0;
      for (size_t i = 0; i < p.size(); ++i) {
        const double v = number(w, p[i], "adaptation.source_prior[" + std::to_string(i) + "]");
        if (!(v >= 0) || !std::isfinite(v))
          w.bad("adaptation.source_prior[" + std::to_string(i) + "]", "expected a finite number >= 0");
        m.source_prior.push_back(v);
        sum += v;
      }
      if (!(sum > 0)) w.bad("adaptation.source_prior", "all zero");
      for (double& v : m.source_prior) v /= sum;
    }
  }
  if (root.contains("history")) {
    const Json& history = object_field(w, root, "", "history");
    if (history.contains("capacity"))
      m.history_capacity = positive_int(w, history["capacity"], "history.capacity", kMaxHistoryCapacity);
  }
  if (root.contains("samples")) m.samples = string_field(w, root, "", "samples");
  return m;
}

}  // namespace

const char* adaptation_name(Adaptation a) {
  switch (a) {
    case Adaptation::kIciia: return "iciia";
    case Adaptation::kPrior: return "prior";
    case Adaptation::kNone: return "none";
  }
  return "?";
}

std::optional<Adaptation> adaptation_from_name(std::string_view name) {
  for (Adaptation a : {Adaptation::kIciia, Adaptation::kPrior, Adaptation::kNone})
    if (name == adaptation_name(a)) return a;
  return std::nullopt;
}

BundleManifest parse_manifest(std::string_view text, const std::string& source) {
  const Where w{source};
  return guarded(source, [&] { return parse_manifest_checked(text, w); });
}

std::string manifest_to_json(const BundleManifest& m) {
  const auto fail = [](const std::string& why) { throw Error(ErrorCode::kInvalidArgument, "manifest: " + why); };
  if (m.default_adaptation() == Adaptation::kIciia && !m.iciia) fail("adaptation 'iciia' without ICIIA weights");
  if (m.labels.empty()) fail("no labels");
  check_source_prior(m, fail);
  Json j = Json::object();
  j["format"] = kBundleFormat;
  j["name"] = m.name;
  Json backbone = Json::object();
  backbone["file"] = m.backbone.file;
  backbone["sha256"] = m.backbone.sha256;
  backbone["input"] = m.input;
  backbone["features"] = m.features;
  backbone["logits"] = m.logits;
  backbone["preprocess"] = preprocess_to_json(m.preprocess);
  j["backbone"] = std::move(backbone);
  if (m.iciia) j["iciia"] = {{"file", m.iciia->file}, {"sha256", m.iciia->sha256}};
  Json adaptation = {{"default", adaptation_name(m.default_adaptation())}};
  if (!m.source_prior.empty()) adaptation["source_prior"] = m.source_prior;
  j["adaptation"] = std::move(adaptation);
  j["labels"] = m.labels;
  j["history"] = {{"capacity", m.history_capacity}};
  if (!m.samples.empty()) j["samples"] = m.samples;
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

PreprocessSpec parse_preprocess(std::string_view text, const std::string& source) {
  const Where w{source};
  return guarded(source, [&] { return preprocess_from_json(w, parse_json(w, text), "preprocess."); });
}

std::string backbone_metadata(const BackboneInfo& info) {
  Json j = Json::object();
  j["input"] = info.input;
  j["features"] = info.features;
  j["logits"] = info.logits;
  if (info.preprocess) j["preprocess"] = preprocess_to_json(*info.preprocess);
  j["labels"] = info.labels;
  return j.dump();
}

BackboneInfo parse_backbone_metadata(std::string_view text, const std::string& source) {
  const Where w{source};
  return guarded(source, [&] {
    const Json j = parse_json(w, text);
    BackboneInfo info;
    info.input = string_field(w, j, "", "input");
    info.features = string_field(w, j, "", "features");
    info.logits = string_field(w, j, "", "logits");
    if (j.contains("preprocess")) info.preprocess = preprocess_from_json(w, j["preprocess"], "preprocess.");
    if (j.contains("labels") && !j["labels"].empty()) info.labels = strings(w, j["labels"], "labels", kMaxLabels);
    return info;
  });
}

Fingerprint verify_bundle(const BundleManifest& m, std::span<const uint8_t> backbone, std::span<const uint8_t> iciia) {
  const auto check = [](const BundleManifest::File& f, std::span<const uint8_t> bytes) {
    const Sha256::Digest d = sha256(bytes);
    if (to_hex(d) != f.sha256)
      throw Error(ErrorCode::kFormat, "bundle: " + f.file + " has sha256 " + to_hex(d) + ", the manifest says " +
                                          f.sha256 + " (corrupt or mismatched download)");
    return d;
  };
  Sha256 h;
  h.update(check(m.backbone, backbone));
  if (m.iciia)
    h.update(check(*m.iciia, iciia));
  else if (!iciia.empty())
    throw Error(ErrorCode::kInvalidArgument, "bundle: ICIIA weights given, but the manifest names none");
  return h.finish();
}

}  // namespace iciia
