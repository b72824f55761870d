// What `iciia train` and `iciia eval` share on the command line: the options
// that shape and train a module, and the parsing of their small grammars.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "train/iciia/options.h"

namespace iciia::cli {

// --layers --heads --seq-len --steps --epochs --batch --lr --weight-decay
// --dropout --no-shuffle --threads, bound to `o`.
void add_training_options(CLI::App* sub, train::TrainOptions& o);
// "2-3" (k uniform in [2, 3]) or "2"; kInvalidArgument otherwise.
train::ClientSpec parse_k_range(const std::string& text);
// "1,2,4" -> {1, 2, 4}; kInvalidArgument naming `what` otherwise.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);
// "a, b,c" -> {"a", "b", "c"} (items trimmed); kInvalidArgument for an empty item.
std::vector<std::string> split_list(const std::string& text);
// The subcommand as it was invoked (options given, in declaration order), for reports.
std::string command_line(const CLI::App& sub);
// Without libtorch: says how to get the command, returns the exit code 2.
int training_unavailable(const std::string& command);

}  // namespace iciia::cli
