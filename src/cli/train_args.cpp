#include "cli/train_args.h"

#include <charconv>
#include <cstdio>
#include <sstream>

#include "util/error.h"

namespace iciia::cli {

namespace {

int64_t parse_int(const std::string& s, const std::string& what) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size())
    throw Error(ErrorCode::kInvalidArgument, what + ": '" + s + "' is not an integer");
  return v;
}

}  // namespace

void add_training_options(CLI::App* sub, train::TrainOptions& o) {
  sub->add_option("--layers", o.layers, "encoder layers L")->capture_default_str();
  sub->add_option("--heads", o.heads, "attention heads h")->capture_default_str();
  sub->add_option("--seq-len", o.seq_len, "longest training sequence (a target and up to seq-len - 1 history images)")
      ->capture_default_str();
  sub->add_option("--steps", o.steps, "optimizer steps (unless --epochs)")->capture_default_str();
  sub->add_option("--epochs", o.epochs, "if > 0: as many steps as this many passes over the images")
      ->capture_default_str();
  sub->add_option("--batch", o.batch, "sequences per step (causal: half as many, at full length)")
      ->capture_default_str();
  sub->add_option("--lr", o.lr, "peak learning rate (AdamW, 5% warm-up, cosine decay)")->capture_default_str();
  sub->add_option("--weight-decay", o.weight_decay, "AdamW weight decay")->capture_default_str();
  sub->add_option("--dropout", o.dropout, "dropout while training (PyTorch's TransformerEncoderLayer places)")
      ->capture_default_str();
  sub->add_flag("!--no-shuffle", o.shuffle, "partitioned projections without the channel shuffle (g > 1)");
  sub->add_option("--threads", o.threads, "torch threads (a seed repeats its result for a given count)")
      ->capture_default_str();
}

train::ClientSpec parse_k_range(const std::string& text) {
  train::ClientSpec spec;
  const size_t dash = text.find('-');
  spec.k_min = static_cast<int>(parse_int(text.substr(0, dash), "classes per client"));
  spec.k_max = dash == std::string::npos ? spec.k_min
                                         : static_cast<int>(parse_int(text.substr(dash + 1), "classes per client"));
  if (spec.k_min < 1 || spec.k_min > spec.k_max)
    throw Error(ErrorCode::kInvalidArgument, "classes per client '" + text + "': expected K or KMIN-KMAX with 1 <= KMIN <= KMAX");
  return spec;
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(parse_int(item, what));
  if (out.empty()) throw Error(ErrorCode::kInvalidArgument, what + ": empty list");
  return out;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a == std::string::npos) throw Error(ErrorCode::kInvalidArgument, "empty item in the list '" + text + "'");
    out.push_back(item.substr(a, b - a + 1));
  }
  return out;
}

std::string command_line(const CLI::App& sub) {
  std::string s = "iciia " + sub.get_name();
  for (const CLI::Option* opt : sub.get_options()) {
    if (opt->count() == 0 || opt->get_name() == "--help") continue;
    if (opt->get_expected_min() == 0) {
      s += " " + opt->get_name();
      continue;
    }
    for (const auto& r : opt->results()) s += " " + opt->get_name() + " " + r;
  }
  return s;
}

int training_unavailable(const std::string& command) {
  std::fprintf(stderr,
               "iciia %s: this build has no training support. Install Debian's libtorch-dev "
               "(apt-get install libtorch-dev) and reconfigure with -DICIIA_TRAIN=ON "
               "(cmake -S . -B build/native -DICIIA_TRAIN=ON).\n",
               command.c_str());
  return 2;
}

}  // namespace iciia::cli
