// libFuzzer harness of the ONNX model file layer: parse_onnx with small
// limits, then the graph checks and the classifier-head search (what `iciia
// bundle` runs on a user's model) on whatever parses. Only iciia::Error may
// escape the library; anything else (a crash, a sanitizer report, another
// exception type) is a bug.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "onnx/classifier_head.h"
#include "onnx/onnx_model.h"
#include "onnx/onnx_writer.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  iciia::OnnxLimits limits;
  limits.max_file_bytes = 32u << 20;
  limits.max_nodes = 4096;
  limits.max_list_elements = 1u << 16;
  limits.max_tensor_bytes = 32u << 20;
  limits.max_total_tensor_bytes = 64u << 20;
  limits.max_string_bytes = 1u << 16;
  limits.max_decoded_bytes = 128u << 20;
  iciia::OnnxModel model;
  try {
    model = iciia::parse_onnx(std::span<const uint8_t>(data, size), limits);
  } catch (const iciia::Error&) {
    return 0;  // rejected: fine, as long as nothing else escaped
  }
  // Whatever parsed must write, parse back (typed fields become raw_data, so
  // the file may grow) and write again to the same bytes.
  {
    const std::vector<uint8_t> written = iciia::write_onnx(model);  // must not throw
    iciia::OnnxLimits relaxed = limits;
    relaxed.max_file_bytes = 1u << 30;
    relaxed.max_decoded_bytes = 1u << 30;
    const iciia::OnnxModel back = iciia::parse_onnx(written, relaxed);  // must not throw
    if (iciia::write_onnx(back) != written) __builtin_trap();
  }
  try {
    const auto order = iciia::topological_order(model.graph);
    if (order.size() != model.graph.nodes.size()) __builtin_trap();
  } catch (const iciia::Error&) {
  }
  try {
    iciia::validate_graph(model.graph);
  } catch (const iciia::Error&) {
  }
  try {
    const iciia::ClassifierHead head = iciia::find_classifier_head(model.graph, "fuzz input");
    if (head.input.empty() || head.features.empty() || head.logits.empty()) __builtin_trap();
  } catch (const iciia::Error&) {
  }
  return 0;
}
