// iciia infer --model M.onnx --input IN.safetensors --output OUT.safetensors [--tensor NAME ...]
// Runs an ONNX model with the core engine on tensor `input` of IN and writes
// the named tensors (default: the graph outputs) to OUT.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/engine.h"
#include "safetensors/safetensors.h"
#include "util/error.h"

namespace iciia::cli {

namespace {
struct InferArgs {
  std::string model, input, output, input_tensor = "input";
  std::vector<std::string> tensors;
  bool profile = false;
};
}  // namespace

Run add_infer(CLI::App& app) {
  auto args = std::make_shared<InferArgs>();
  auto* sub = app.add_subcommand("infer", "Run an ONNX model with the core engine on a tensor");
  sub->add_option("--model", args->model, "ONNX model")->required();
  sub->add_option("--input", args->input, "safetensors holding the input (NCHW)")->required();
  sub->add_option("--output", args->output, "safetensors to write")->required();
  sub->add_option("--input-tensor", args->input_tensor, "name of the input tensor in --input")->capture_default_str();
  sub->add_option("--tensor", args->tensors, "a value of the graph to write (repeatable; default: graph outputs)");
  sub->add_flag("--profile", args->profile, "print the time of every step");
  return [args]() {
    const Safetensors in = Safetensors::read_file(args->input);
    const TensorInfo& t = in.get(args->input_tensor);
    engine::EngineOptions options;
    options.input_dims = t.shape;
    options.tensors = args->tensors;
    engine::Engine e = engine::Engine::load_file(args->model, options);
    const std::vector<float> x = in.to_f32(t);
    if (args->profile) {
      for (const auto& s : e.run_profiled(x))
        std::printf("%9.3f ms  %-36s %s\n", s.ms, s.kind.c_str(), s.label.c_str());
    } else {
      e.run(x);
    }
    SafetensorsWriter out;
    const auto& names = args->tensors.empty() ? e.readable() : args->tensors;
    for (const auto& name : names) out.add_f32(name, e.dims(name), e.read(name));
    out.write_file(args->output);
    std::printf("wrote %s:", args->output.c_str());
    for (const auto& name : names) std::printf(" %s", name.c_str());
    std::printf(" (%.1f M MACs, %zu steps)\n", e.stats().macs / 1e6, e.plan().steps.size());
    return 0;
  };
}

}  // namespace iciia::cli
