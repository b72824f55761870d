#include "train/bundle/manifest.h"

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "train/data/file_bytes.h"
#include "util/error.h"

namespace iciia::train {

namespace {

using Json = nlohmann::ordered_json;

constexpr uint64_t kMaxManifestBytes = 4u << 20;

[[noreturn]] void bad(const std::string& name, const std::string& field, const std::string& message) {
  throw Error(ErrorCode::kFormat, name + ": " + field + ": " + message);
}

const Json& member(const Json& obj, const std::string& key, const std::string& name, const std::string& path) {
  if (!obj.is_object()) bad(name, path, "expected an object");
  const auto it = obj.find(key);
  if (it == obj.end()) bad(name, path.empty() ? key : path + "." + key, "missing");
  return *it;
}

std::string string_at(const Json& obj, const std::string& key, const std::string& name, const std::string& path) {
  const Json& v = member(obj, key, name, path);
  if (!v.is_string()) bad(name, path.empty() ? key : path + "." + key, "expected a string, got " + v.dump());
  return v.get<std::string>();
}

std::vector<std::string> strings_at(const Json& v, const std::string& name, const std::string& field) {
  if (!v.is_array()) bad(name, field, "expected an array of strings");
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string()) bad(name, field, "expected an array of strings, found " + s.dump());
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::vector<float> floats_at(const Json& v, const std::string& name, const std::string& field) {
  if (!v.is_array()) bad(name, field, "expected an array of numbers");
  std::vector<float> out;
  for (const auto& x : v) {
    if (!x.is_number()) bad(name, field, "expected an array of numbers, found " + x.dump());
    out.push_back(x.get<float>());
  }
  return out;
}

int small_int(const Json& v, const std::string& name, const std::string& field) {
  if (!v.is_number_integer() || v.get<int64_t>() < -(1 << 30) || v.get<int64_t>() > (1 << 30))
    bad(name, field, "expected a small integer, got " + v.dump());
  return static_cast<int>(v.get<int64_t>());
}

// The float as the double of its shortest decimal form that reads back to
// it (0.286f -> 0.286, not 0.28600001335144043): manifests stay readable and
// a reader that parses doubles and narrows to float gets the same value.
double shortest(float v) {
  char buf[32];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return std::strtod(buf, nullptr);
}

Json preprocess_to_json(const PreprocessSpec& p) {
  check_preprocess_spec(p);
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

PreprocessSpec preprocess_from_json(const Json& j, const std::string& name, const std::string& path) {
  PreprocessSpec p;
  const Json& size = member(j, "size", name, path);
  if (!size.is_array() || size.size() != 2) bad(name, path + ".size", "expected [height, width], got " + size.dump());
  p.height = small_int(size[0], name, path + ".size");
  p.width = small_int(size[1], name, path + ".size");
  p.channels = small_int(member(j, "channels", name, path), name, path + ".channels");
  p.mean = floats_at(member(j, "mean", name, path), name, path + ".mean");
  p.std = floats_at(member(j, "std", name, path), name, path + ".std");
  const Json& scale = member(j, "scale", name, path);
  if (!scale.is_number()) bad(name, path + ".scale", "expected a number, got " + scale.dump());
  p.scale = scale.get<float>();
  try {
    check_preprocess_spec(p);
  } catch (const Error& e) {
    bad(name, path, e.what());
  }
  return p;
}

Json parse_json(const std::string& text, const std::string& name) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw Error(ErrorCode::kFormat, name + ": not valid JSON");
  return j;
}

}  // namespace

std::string manifest_json(const Manifest& m) {
  if (!m.backbone.preprocess)
    throw Error(ErrorCode::kInvalidArgument, "manifest: the backbone has no preprocessing (size, mean, std, ...)");
  Json j = Json::object();
  j["format"] = kManifestFormat;
  j["name"] = m.name;
  Json backbone = Json::object();
  backbone["file"] = m.backbone_file;
  backbone["sha256"] = m.backbone_sha256;
  backbone["input"] = m.backbone.input;
  backbone["features"] = m.backbone.features;
  backbone["logits"] = m.backbone.logits;
  backbone["preprocess"] = preprocess_to_json(*m.backbone.preprocess);
  j["backbone"] = std::move(backbone);
  j["iciia"] = {{"file", m.iciia_file}, {"sha256", m.iciia_sha256}};
  j["labels"] = m.labels;
  j["history"] = {{"capacity", m.history_capacity}};
  if (!m.samples.empty()) j["samples"] = m.samples;
  return j.dump(2) + "\n";
}

Manifest parse_manifest(const std::string& text, const std::string& name) {
  const Json j = parse_json(text, name);
  if (const std::string format = string_at(j, "format", name, ""); format != kManifestFormat)
    bad(name, "format", Json(format).dump() + " is not \"" + kManifestFormat + "\"");
  Manifest m;
  m.name = string_at(j, "name", name, "");
  const Json& b = member(j, "backbone", name, "");
  m.backbone_file = string_at(b, "file", name, "backbone");
  m.backbone_sha256 = string_at(b, "sha256", name, "backbone");
  m.backbone.input = string_at(b, "input", name, "backbone");
  m.backbone.features = string_at(b, "features", name, "backbone");
  m.backbone.logits = string_at(b, "logits", name, "backbone");
  m.backbone.preprocess = preprocess_from_json(member(b, "preprocess", name, "backbone"), name, "backbone.preprocess");
  const Json& ic = member(j, "iciia", name, "");
  m.iciia_file = string_at(ic, "file", name, "iciia");
  m.iciia_sha256 = string_at(ic, "sha256", name, "iciia");
  m.labels = strings_at(member(j, "labels", name, ""), name, "labels");
  m.history_capacity = small_int(member(member(j, "history", name, ""), "capacity", name, "history"), name,
                                 "history.capacity");
  if (m.history_capacity < 1) bad(name, "history.capacity", "must be at least 1");
  if (j.contains("samples")) m.samples = string_at(j, "samples", name, "");
  return m;
}

Manifest read_manifest(const std::string& path) {
  const std::vector<uint8_t> bytes = data::read_file(path, kMaxManifestBytes);
  return parse_manifest(std::string(bytes.begin(), bytes.end()), path);
}

PreprocessSpec parse_preprocess(const std::string& text, const std::string& name) {
  return preprocess_from_json(parse_json(text, name), name, "preprocess");
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

BackboneInfo read_backbone_info(const OnnxModel& model, const std::string& name) {
  BackboneInfo info;
  for (const auto& [key, value] : model.metadata_props) {
    if (key != kBackboneMetadataKey) continue;
    const std::string where = name + " (metadata " + kBackboneMetadataKey + ")";
    const Json j = parse_json(value, where);
    info.input = string_at(j, "input", where, "");
    info.features = string_at(j, "features", where, "");
    info.logits = string_at(j, "logits", where, "");
    if (j.contains("preprocess")) info.preprocess = preprocess_from_json(j["preprocess"], where, "preprocess");
    if (j.contains("labels")) info.labels = strings_at(j["labels"], where, "labels");
  }
  return info;
}

}  // namespace iciia::train
