// How positions of a training/evaluation sequence mix: the runtime's two
// modes plus the paper's attention-free ablation.
#pragma once

#include <string>

#include "iciia/config.h"

namespace iciia::train {

enum class Attention {
  kFull,    // every position attends to every position (the paper)
  kCausal,  // a position attends to itself and earlier positions (KV cache)
  kFf,      // a position attends only to itself: ICIIA without inter-image attention
};

const char* attention_name(Attention attention);
// "full" | "causal" | "ff"; anything else throws kInvalidArgument naming it.
Attention parse_attention(const std::string& name);
// The runtime mode; kFf has none and throws kInvalidArgument.
AttentionMode runtime_attention(Attention attention);

}  // namespace iciia::train
