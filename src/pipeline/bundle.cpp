#include "pipeline/bundle.h"

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/sha256.h"

namespace iciia {
namespace {

using Json = nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw Error(ErrorCode::kFormat, "bundle manifest: " + field + ": " + why);
}

const Json& member(const Json& obj, const std::string& path, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end()) bad(path + key, "missing");
  return *it;
}

std::string string_field(const Json& obj, const std::string& path, const char* key, size_t max_len = 4096) {
  const Json& v = member(obj, path, key);
  if (!v.is_string()) bad(path + key, std::string("expected a string, got ") + v.type_name());
  const std::string s = v.get<std::string>();
  if (s.empty() || s.size() > max_len) bad(path + key, "expected 1 to " + std::to_string(max_len) + " characters");
  return s;
}

const Json& object_field(const Json& obj, const std::string& path, const char* key) {
  const Json& v = member(obj, path, key);
  if (!v.is_object()) bad(path + key, std::string("expected an object, got ") + v.type_name());
  return v;
}

double number(const Json& v, const std::string& field) {
  if (!v.is_number()) bad(field, std::string("expected a number, got ") + v.type_name());
  return v.get<double>();
}

int positive_int(const Json& v, const std::string& field, int max) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > max)
    bad(field, "expected an integer in [1, " + std::to_string(max) + "], got " +
                   v.dump(-1, ' ', false, Json::error_handler_t::replace));
  return v.get<int>();
}

BundleManifest::File file_field(const Json& root, const char* key) {
  const std::string path = std::string(key) + ".";
  const Json& obj = object_field(root, "", key);
  BundleManifest::File f;
  f.file = string_field(obj, path, "file");
  // Relative names inside the bundle only: a manifest must not reach
  // outside its folder or URL prefix.
  if (f.file.find("..") != std::string::npos || f.file.front() == '/' || f.file.find(':') != std::string::npos ||
      f.file.find('\\') != std::string::npos)
    bad(path + "file", "'" + f.file + "' must be a plain relative name inside the bundle");
  f.sha256 = string_field(obj, path, "sha256");
  if (f.sha256.size() != 64 || f.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
    bad(path + "sha256", "expected 64 lowercase hex digits");
  return f;
}

std::vector<float> per_channel(const Json& pre, const char* key, int channels) {
  const std::string field = std::string("backbone.preprocess.") + key;
  const Json& v = member(pre, "backbone.preprocess.", key);
  if (!v.is_array() || int(v.size()) != channels)
    bad(field, "expected an array of " + std::to_string(channels) + " numbers (one per channel)");
  std::vector<float> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(float(number(v[i], field + "[" + std::to_string(i) + "]")));
  return out;
}

}  // namespace

namespace {

BundleManifest parse_manifest_checked(std::string_view text) {
  if (text.size() > kMaxManifestBytes)
    throw Error(ErrorCode::kLimit, "bundle manifest: " + std::to_string(text.size()) + " bytes, more than the " +
                                       std::to_string(kMaxManifestBytes) + " accepted");
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    throw Error(ErrorCode::kFormat, std::string("bundle manifest: not valid JSON: ") + e.what());
  }
  if (!root.is_object()) bad("(root)", "expected a JSON object");
  const std::string format = string_field(root, "", "format");
  if (format != kBundleFormat)
    throw Error(ErrorCode::kUnsupported,
                "bundle manifest: format '" + format + "', this build reads '" + kBundleFormat + "'");
  BundleManifest m;
  m.name = root.contains("name") ? string_field(root, "", "name") : "unnamed";
  m.backbone = file_field(root, "backbone");
  m.iciia = file_field(root, "iciia");
  const Json& bb = root["backbone"];
  m.input = string_field(bb, "backbone.", "input");
  m.features = string_field(bb, "backbone.", "features");
  m.logits = string_field(bb, "backbone.", "logits");

  const Json& pre = object_field(bb, "backbone.", "preprocess");
  const Json& size = member(pre, "backbone.preprocess.", "size");
  if (!size.is_array() || size.size() != 2) bad("backbone.preprocess.size", "expected [height, width]");
  m.preprocess.height = positive_int(size[0], "backbone.preprocess.size[0]", 4096);
  m.preprocess.width = positive_int(size[1], "backbone.preprocess.size[1]", 4096);
  const int channels = positive_int(member(pre, "backbone.preprocess.", "channels"), "backbone.preprocess.channels", 3);
  if (channels != 1 && channels != 3) bad("backbone.preprocess.channels", "expected 1 or 3");
  m.preprocess.channels = channels;
  m.preprocess.mean = per_channel(pre, "mean", channels);
  m.preprocess.std = per_channel(pre, "std", channels);
  m.preprocess.scale = float(number(member(pre, "backbone.preprocess.", "scale"), "backbone.preprocess.scale"));
  try {
    check_preprocess_spec(m.preprocess);
  } catch (const Error& e) {
    bad("backbone.preprocess", e.what());
  }

  const Json& labels = member(root, "", "labels");
  if (!labels.is_array() || labels.empty() || labels.size() > kMaxLabels)
    bad("labels", "expected a non-empty array of at most " + std::to_string(kMaxLabels) + " strings");
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!labels[i].is_string()) bad("labels[" + std::to_string(i) + "]", "expected a string");
    m.labels.push_back(labels[i].get<std::string>());
  }
  if (root.contains("history")) {
    const Json& history = object_field(root, "", "history");
    if (history.contains("capacity"))
      m.history_capacity = positive_int(history["capacity"], "history.capacity", kMaxHistoryCapacity);
  }
  if (root.contains("samples")) m.samples = string_field(root, "", "samples");
  return m;
}

}  // namespace

BundleManifest parse_manifest(std::string_view text) {
  try {
    return parse_manifest_checked(text);
  } catch (const Json::exception& e) {
    // A type or range surprise inside the JSON library (a number too large
    // for its type, say): still a malformed manifest, not a crash.
    throw Error(ErrorCode::kFormat, std::string("bundle manifest: ") + e.what());
  }
}

std::string manifest_to_json(const BundleManifest& m) {
  nlohmann::ordered_json j;
  j["format"] = kBundleFormat;
  j["name"] = m.name;
  j["backbone"] = {{"file", m.backbone.file},
                   {"sha256", m.backbone.sha256},
                   {"input", m.input},
                   {"features", m.features},
                   {"logits", m.logits},
                   {"preprocess",
                    {{"size", {m.preprocess.height, m.preprocess.width}},
                     {"channels", m.preprocess.channels},
                     {"mean", m.preprocess.mean},
                     {"std", m.preprocess.std},
                     {"scale", m.preprocess.scale}}}};
  j["iciia"] = {{"file", m.iciia.file}, {"sha256", m.iciia.sha256}};
  j["labels"] = m.labels;
  j["history"] = {{"capacity", m.history_capacity}};
  if (!m.samples.empty()) j["samples"] = m.samples;
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

Fingerprint verify_bundle(const BundleManifest& m, std::span<const uint8_t> backbone, std::span<const uint8_t> iciia) {
  const Sha256::Digest b = sha256(backbone), w = sha256(iciia);
  if (to_hex(b) != m.backbone.sha256)
    throw Error(ErrorCode::kFormat, "bundle: " + m.backbone.file + " has sha256 " + to_hex(b) +
                                        ", the manifest says " + m.backbone.sha256 + " (corrupt or mismatched download)");
  if (to_hex(w) != m.iciia.sha256)
    throw Error(ErrorCode::kFormat, "bundle: " + m.iciia.file + " has sha256 " + to_hex(w) + ", the manifest says " +
                                        m.iciia.sha256 + " (corrupt or mismatched download)");
  Sha256 h;
  h.update(b);
  h.update(w);
  return h.finish();
}

}  // namespace iciia
