// iciia: the native tool (one-time "cloud side" work and debugging).
#include <cstdio>
#include <vector>

#include "cli/commands.h"
#include "util/error.h"

int main(int argc, char** argv) {
  CLI::App app{"iciia: client-adaptive image recognition, native tool"};
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, iciia::cli::Run>> commands;
  auto add = [&](iciia::cli::Run (*fn)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    auto run = fn(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(run));
  };
  add(&iciia::cli::add_forward);
  add(&iciia::cli::add_infer);
  add(&iciia::cli::add_extract);
  add(&iciia::cli::add_bundle);
  add(&iciia::cli::add_train_backbone);
  add(&iciia::cli::add_train);
  add(&iciia::cli::add_eval);
  CLI11_PARSE(app, argc, argv);
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const iciia::Error& e) {
    std::fprintf(stderr, "iciia: %s: %s\n", iciia::error_code_name(e.code()), e.what());
    return 1;
  }
  return 0;
}
