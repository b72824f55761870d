#include "train/iciia/attention.h"

#include "util/error.h"

namespace iciia::train {

const char* attention_name(Attention attention) {
  switch (attention) {
    case Attention::kFull: return "full";
    case Attention::kCausal: return "causal";
    case Attention::kFf: return "ff";
  }
  return "?";
}

Attention parse_attention(const std::string& name) {
  if (name == "full") return Attention::kFull;
  if (name == "causal") return Attention::kCausal;
  if (name == "ff") return Attention::kFf;
  throw Error(ErrorCode::kInvalidArgument, "attention \"" + name + "\": expected full, causal or ff");
}

AttentionMode runtime_attention(Attention attention) {
  if (attention == Attention::kFf)
    throw Error(ErrorCode::kInvalidArgument,
                "the attention-free ablation 'ff' is for evaluation only: the runtime has no such mode, so it "
                "cannot be saved as a weights file");
  return attention == Attention::kCausal ? AttentionMode::kCausal : AttentionMode::kFull;
}

}  // namespace iciia::train
