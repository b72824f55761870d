// Subcommands of the `iciia` tool. Each registers its options on the app and
// returns the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace iciia::cli {

using Run = std::function<int()>;

Run add_forward(CLI::App& app);
Run add_infer(CLI::App& app);
// Training (need libtorch; without it they say so and exit 2).
Run add_train(CLI::App& app);
Run add_eval(CLI::App& app);

}  // namespace iciia::cli
