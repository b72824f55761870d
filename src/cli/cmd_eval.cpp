// iciia eval --train TRAIN.safetensors --test TEST.safetensors [--groups FILE]
//            [--weights METHOD=FILE ...] [--report R.md] [--plot P.png] ...
// Accuracy of the backbone alone, the attention-free ablation and ICIIA-B/T
// (full and causal) on held-out clients, against the history length; mean and
// std over seeds, modules retrained per seed unless given (evaluate.h has
// the protocol).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/train_args.h"
#include "util/error.h"

#ifdef ICIIA_HAVE_TORCH
#include "train/data/png_writer.h"
#include "train/features_file.h"
#include "train/iciia/evaluate.h"
#include "train/iciia/report.h"
#endif

namespace iciia::cli {

namespace {
struct EvalArgs {
  std::string train, test, styled, kinds, groups, clients_k = "2-3", eval_k = "2,3", seeds = "1,2,3", ns = "0,1,2,4,8,16,32,64";
  std::string report, plot, title = "ICIIA accuracy";
  std::vector<std::string> weights, skip;
  train::EvalOptions options;
};
}  // namespace

Run add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* sub = app.add_subcommand("eval", "Accuracy of the backbone, an attention-free ablation, ICIIA-B and ICIIA-T "
                                         "against history length, on held-out clients");
  sub->add_option("--train", args->train, "features of the training split (to train the modules)");
  sub->add_option("--test", args->test, "features of the test split (the clients' images)")->required();
  sub->add_option("--weights", args->weights,
                  "METHOD=FILE: use trained weights for B-full, B-causal, T-full or T-causal (repeatable)");
  sub->add_option("--skip", args->skip, "a method not to run (repeatable)");
  sub->add_option("--gate-level", args->options.gate_level,
                  "the @gate rows adapt only when the label-shift test rejects 'no shift' at this level")
      ->check(CLI::Range(0.5, 0.999999))
      ->capture_default_str();
  sub->add_option("--styled", args->styled,
                  "styled test features (iciia extract --styles N): what repeats, style and mixed clients draw from");
  sub->add_option("--kinds", args->kinds,
                  "client kinds, comma-separated, replacing --eval-k and --groups' kind: k=K, k=A-B, groups, repeats, "
                  "style, mixed (style + k=2)");
  sub->add_option("--groups", args->groups, "also evaluate clients that photograph one group of this grouping");
  sub->add_option("--eval-k", args->eval_k, "classes per evaluation client, one client kind each")
      ->capture_default_str();
  sub->add_option("--clients-k", args->clients_k, "classes per training client: K or KMIN-KMAX")
      ->capture_default_str();
  sub->add_option("--partitions", args->options.train.partitions, "ICIIA-T's partitions g (0: the preset's rule)")
      ->capture_default_str();
  sub->add_option("--seeds", args->seeds, "seeds (comma-separated); each retrains the modules and draws new episodes")
      ->capture_default_str();
  sub->add_option("--episodes", args->options.episodes, "episodes per client kind and seed")->capture_default_str();
  sub->add_option("--jobs", args->options.jobs, "modules trained / methods evaluated at once (same results for any)")
      ->capture_default_str();
  sub->add_option("--ns", args->ns, "history lengths (comma-separated)")->capture_default_str();
  sub->add_option("--report", args->report, "markdown file to write (also printed)");
  sub->add_option("--plot", args->plot, "PNG file to write: accuracy against history length");
  sub->add_option("--title", args->title, "title of the report")->capture_default_str();
  add_training_options(sub, args->options.train);
  args->options.train.label.clear();
  return [args, sub]() -> int {
#ifdef ICIIA_HAVE_TORCH
    train::EvalOptions o = args->options;
    const train::FeatureSet test = train::read_features(args->test);
    train::FeatureSet train_set, styled;
    if (!args->train.empty()) train_set = train::read_features(args->train);
    if (!args->styled.empty()) styled = train::read_features(args->styled);
    o.train.clients = parse_k_range(args->clients_k);
    const train::ClassGroups groups =
        args->groups.empty() ? train::ClassGroups{} : train::read_groups(args->groups, test.class_names);
    if (!args->kinds.empty()) {
      for (const std::string& kind : split_list(args->kinds)) o.clients.push_back(train::parse_client_kind(kind, groups));
    } else {
      for (int64_t k : parse_int_list(args->eval_k, "--eval-k")) o.clients.push_back({static_cast<int>(k), static_cast<int>(k), {}});
      if (!groups.empty()) o.clients.push_back({0, 0, groups});
    }
    o.seeds.clear();
    for (int64_t s : parse_int_list(args->seeds, "--seeds")) o.seeds.push_back(static_cast<uint64_t>(s));
    o.ns.clear();
    for (int64_t n : parse_int_list(args->ns, "--ns")) o.ns.push_back(static_cast<int>(n));
    for (const auto& w : args->weights) {
      const size_t eq = w.find('=');
      if (eq == std::string::npos)
        throw Error(ErrorCode::kInvalidArgument, "--weights " + w + ": expected METHOD=FILE (e.g. B-full=iciia.safetensors)");
      o.weights[w.substr(0, eq)] = w.substr(eq + 1);
    }
    o.skip = args->skip;

    const train::EvalResult r =
        train::evaluate(args->train.empty() ? nullptr : &train_set, args->train, test, args->test, o,
                        args->styled.empty() ? nullptr : &styled, args->styled);
    train::ReportContext ctx{args->title, command_line(*sub), ""};
    if (!args->plot.empty()) {
      train::data::write_png(train::render_line_plot(train::accuracy_plot(r)), args->plot);
      ctx.plot = args->plot.substr(args->plot.find_last_of('/') + 1);
    }
    const std::string md = train::markdown_report(r, ctx);
    std::fputs(md.c_str(), stdout);
    if (!args->report.empty()) {
      std::ofstream f(args->report);
      if (!(f << md)) throw Error(ErrorCode::kIo, "cannot write the report " + args->report);
    }
    return 0;
#else
    return training_unavailable("eval");
#endif
  };
}

}  // namespace iciia::cli
