// A small, complete model bundle for the recognizer's tests: a tiny CNN
// backbone (RGB 16x16 → Conv → GlobalAveragePool → Gemm+Relu `features` →
// Gemm `logits`) and an ICIIA module with fixed-seed random weights, with a
// manifest in the format of docs/design.md, "Model bundle". It recognises nothing in particular; the
// tests check the pipeline's arithmetic against its parts, not accuracy.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "iciia/model.h"
#include "onnx/onnx_writer.h"
#include "pipeline/bundle.h"
#include "safetensors/safetensors.h"
#include "test_models.h"
#include "util/error.h"
#include "util/sha256.h"

namespace iciia::test_models {

struct TestBundleOptions {
  uint32_t seed = 1;  // a different seed is a different model (fingerprint)
  int size = 16, channels = 3, dim = 16, classes = 5, capacity = 8;
  int heads = 2, layers = 1, partitions = 1;
  AttentionMode attention = AttentionMode::kFull;
};

inline std::vector<uint8_t> test_bundle_backbone(const TestBundleOptions& o) {
  Builder b("test_bundle_backbone", 13, {1, o.channels, o.size, o.size}, o.seed);
  const int64_t c = 8;
  std::string x = b.conv("input", o.channels, c, 3, 1, 2);
  x = b.op("Relu", {x});
  x = b.op("GlobalAveragePool", {x});
  x = b.op("Flatten", {x});
  x = b.op("Gemm", {x, b.weight({o.dim, c}, 1.0f), b.weight({o.dim}, 0.3f)}, {onnx_build::attr_int("transB", 1)});
  const std::string features = b.named("features", "Relu", {x});
  const std::string logits = b.named("logits", "Gemm", {features, b.weight({o.classes, o.dim}, 0.8f), b.weight({o.classes}, 0.2f)},
                                     {onnx_build::attr_int("transB", 1)});
  b.output(logits);
  b.output(features);
  return write_onnx(b.finish().model);
}

inline std::vector<uint8_t> test_bundle_iciia(const TestBundleOptions& o) {
  IciiaConfig cfg;
  cfg.dim = o.dim;
  cfg.num_classes = o.classes;
  cfg.num_heads = o.heads;
  cfg.num_layers = o.layers;
  cfg.num_partitions = o.partitions;
  cfg.attention = o.attention;
  Builder rng("rng", 13, {1}, o.seed * 7 + 3);
  SafetensorsWriter w;
  for (const NamedTensor& t : IciiaModel::expected_tensors(cfg)) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    std::vector<float> v = rng.random(n, 0.4f);
    if (t.name.find("norm") != std::string::npos && t.name.ends_with("weight"))
      for (float& x : v) x = 1.0f + 0.5f * x;
    w.add_f32(t.name, t.shape, v);
  }
  w.set_metadata("format", "iciia/1");
  w.set_metadata("dim", std::to_string(cfg.dim));
  w.set_metadata("num_classes", std::to_string(cfg.num_classes));
  w.set_metadata("num_heads", std::to_string(cfg.num_heads));
  w.set_metadata("num_layers", std::to_string(cfg.num_layers));
  w.set_metadata("num_partitions", std::to_string(cfg.num_partitions));
  w.set_metadata("shuffle", "1");
  w.set_metadata("attention", o.attention == AttentionMode::kCausal ? "causal" : "full");
  return w.serialize();
}

inline BundleManifest test_bundle_manifest(const TestBundleOptions& o, std::span<const uint8_t> backbone,
                                           std::span<const uint8_t> iciia) {
  BundleManifest m;
  m.name = "test-bundle-" + std::to_string(o.seed);
  m.backbone = {"backbone.onnx", sha256_hex(backbone)};
  m.iciia = BundleManifest::File{"iciia.safetensors", sha256_hex(iciia)};
  m.input = "input";
  m.features = "features";
  m.logits = "logits";
  m.preprocess.height = m.preprocess.width = o.size;
  m.preprocess.channels = o.channels;
  m.preprocess.scale = 1.0f / 255.0f;
  m.preprocess.mean.assign(o.channels, 0.5f);
  m.preprocess.std.assign(o.channels, 0.25f);
  for (int i = 0; i < o.classes; ++i) m.labels.push_back("class" + std::to_string(i));
  m.history_capacity = o.capacity;
  return m;
}

inline void write_test_bundle(const std::filesystem::path& dir, const TestBundleOptions& o) {
  std::filesystem::create_directories(dir);
  const auto backbone = test_bundle_backbone(o);
  const auto iciia = test_bundle_iciia(o);
  auto write = [&](const std::string& name, const void* data, size_t n) {
    std::ofstream f(dir / name, std::ios::binary);
    f.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!f) throw Error(ErrorCode::kIo, "cannot write " + (dir / name).string());
  };
  write("backbone.onnx", backbone.data(), backbone.size());
  write("iciia.safetensors", iciia.data(), iciia.size());
  const std::string manifest = manifest_to_json(test_bundle_manifest(o, backbone, iciia));
  write("manifest.json", manifest.data(), manifest.size());
}

}  // namespace iciia::test_models
