// Writes the engine's op test models (test_models.h) into a folder:
//   iciia_make_test_models OUT_DIR [NAME_SUBSTRING]
// one OUT_DIR/<name>.onnx per model, and OUT_DIR/models.json listing each
// model's name, file, opset and the input dims to run it with.
//   iciia_make_test_models --benchmark OUT_DIR
// writes the full-size benchmark models instead (benchmark_models.h: resnet18.onnx).
//   iciia_make_test_models --bundle OUT_DIR [SEED] [--dim D] [--partitions G] [--capacity N] [--heads H]
// writes the recognizer's small test bundle (test_bundle.h); another seed is
// another model, with another fingerprint.
//   iciia_make_test_models --torchvision-like OUT_DIR
// writes a small classifier in torchvision's ResNet layout without bundle
// metadata (torchvision_like.h: tiny_resnet.onnx) and tiny_resnet.json, the
// names of its features and logits and their widths.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "onnx/onnx_writer.h"
#include "benchmark_models.h"
#include "test_bundle.h"
#include "torchvision_like.h"
#include "test_models.h"
#include "util/error.h"

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--benchmark") {
    try {
      const auto m = iciia::test_models::resnet18();
      const auto bytes = iciia::write_onnx(m.model);
      const std::filesystem::path file = std::filesystem::path(argv[2]) / (m.name + ".onnx");
      std::filesystem::create_directories(argv[2]);
      std::ofstream f(file, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      if (!f) throw iciia::Error(iciia::ErrorCode::kIo, "cannot write " + file.string());
      std::printf("wrote %s\n", file.string().c_str());
      return 0;
    } catch (const iciia::Error& e) {
      std::fprintf(stderr, "iciia_make_test_models: %s\n", e.what());
      return 1;
    }
  }
  if (argc == 3 && std::string(argv[1]) == "--torchvision-like") {
    try {
      const auto t = iciia::test_models::torchvision_like_resnet();
      const std::filesystem::path dir = argv[2];
      std::filesystem::create_directories(dir);
      const auto bytes = iciia::write_onnx(t.model.model);
      std::ofstream f(dir / "tiny_resnet.onnx", std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      std::ofstream j(dir / "tiny_resnet.json");
      j << "{\"file\": \"tiny_resnet.onnx\", \"features\": \"" << t.features << "\", \"logits\": \"" << t.logits
        << "\", \"dim\": " << t.dim << ", \"classes\": " << t.classes << "}\n";
      if (!f || !j) throw iciia::Error(iciia::ErrorCode::kIo, "cannot write " + dir.string());
      std::printf("wrote %s/tiny_resnet.onnx\n", dir.string().c_str());
      return 0;
    } catch (const iciia::Error& e) {
      std::fprintf(stderr, "iciia_make_test_models: %s\n", e.what());
      return 1;
    }
  }
  if (argc >= 3 && std::string(argv[1]) == "--bundle") {
    try {
      iciia::test_models::TestBundleOptions o;
      for (int i = 3; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&] { return i + 1 < argc ? std::stoi(argv[++i]) : throw std::invalid_argument(a + " needs a value"); };
        if (a == "--dim") o.dim = next();
        else if (a == "--partitions") o.partitions = next();
        else if (a == "--capacity") o.capacity = next();
        else if (a == "--heads") o.heads = next();
        else o.seed = static_cast<uint32_t>(std::stoul(a));
      }
      iciia::test_models::write_test_bundle(argv[2], o);
      std::printf("wrote test bundle (seed %u) to %s\n", o.seed, argv[2]);
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "iciia_make_test_models: %s\n", e.what());
      return 1;
    }
  }
  if (argc < 2 || argc > 3 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: %s OUT_DIR [NAME_SUBSTRING]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const std::string filter = argc > 2 ? argv[2] : "";
  try {
    std::filesystem::create_directories(dir);
    std::string index = "[\n";
    int written = 0;
    for (const auto& m : iciia::test_models::all_test_models()) {
      if (!filter.empty() && m.name.find(filter) == std::string::npos) continue;
      const auto bytes = iciia::write_onnx(m.model);
      const std::string file = m.name + ".onnx";
      std::ofstream f(dir / file, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
      if (!f) throw iciia::Error(iciia::ErrorCode::kIo, "cannot write " + (dir / file).string());
      std::string dims;
      for (size_t i = 0; i < m.input_dims.size(); ++i) dims += (i ? ", " : "") + std::to_string(m.input_dims[i]);
      index += std::string(written ? ",\n" : "") + "  {\"name\": \"" + m.name + "\", \"file\": \"" + file +
               "\", \"opset\": " + std::to_string(m.model.opset_version("")) + ", \"inputDims\": [" + dims + "]}";
      ++written;
    }
    index += "\n]\n";
    std::ofstream(dir / "models.json") << index;
    std::printf("wrote %d models to %s\n", written, dir.string().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "iciia_make_test_models: %s\n", e.what());
    return 1;
  }
  return 0;
}
