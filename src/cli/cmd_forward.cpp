// iciia forward --weights W --input IO --output O
// All positions of one sequence with the paper's semantics.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "iciia/model.h"
#include "safetensors/safetensors.h"
#include "util/error.h"

namespace iciia::cli {

namespace {
struct ForwardArgs {
  std::string weights, input, output, tensor = "input";
};
}  // namespace

Run add_forward(CLI::App& app) {
  auto args = std::make_shared<ForwardArgs>();
  auto* sub = app.add_subcommand("forward", "Run ICIIA weights on a sequence of feature vectors");
  sub->add_option("--weights", args->weights, "ICIIA weights (safetensors)")->required();
  sub->add_option("--input", args->input, "safetensors holding the sequence [S, d]")->required();
  sub->add_option("--output", args->output, "safetensors to write, tensor 'output' [S, C]")->required();
  sub->add_option("--tensor", args->tensor, "name of the input tensor")->capture_default_str();
  return [args]() {
    auto model = IciiaModel::load_file(args->weights);
    const Safetensors in = Safetensors::read_file(args->input);
    const TensorInfo& t = in.get(args->tensor);
    const int d = model->config().dim, C = model->config().num_classes;
    if (t.shape.size() != 2 || t.shape[1] != d)
      throw Error(ErrorCode::kShape, "forward: tensor '" + args->tensor + "' in " + args->input +
                                         " must have shape [S, " + std::to_string(d) + "]");
    const int S = static_cast<int>(t.shape[0]);
    const std::vector<float> x = in.to_f32(t);
    std::vector<float> y(static_cast<size_t>(S) * C);
    model->forward(x, S, y);
    SafetensorsWriter out;
    out.set_metadata("sequence_length", std::to_string(S));
    out.add_f32("output", {S, C}, y);
    out.write_file(args->output);
    std::printf("wrote %s: output [%d, %d] (%s attention, L=%d, g=%d)\n", args->output.c_str(), S, C,
                attention_mode_name(model->config().attention), model->config().num_layers,
                model->config().num_partitions);
    return 0;
  };
}

}  // namespace iciia::cli
