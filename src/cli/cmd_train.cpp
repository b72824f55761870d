// iciia train --features TRAIN.safetensors --out iciia.safetensors [--preset B|T]
//             [--attention full|causal] [--clients-k 2-3 | --groups FILE]
//             [--mix KIND[:WEIGHT],... [--styled TRAIN-STYLED.safetensors]] ...
// Trains the ICIIA module on a features file with simulated clients (the
// backbone stays frozen) and writes the weights file the runtime loads.
#include <cstdio>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/train_args.h"
#include "util/error.h"

#ifdef ICIIA_HAVE_TORCH
#include "train/features_file.h"
#include "train/iciia/trainer.h"
#endif

namespace iciia::cli {

namespace {
struct TrainArgs {
  std::string features, out, attention = "full", clients_k = "2-3", groups, mix, styled;
  char preset = 'B';
  train::TrainOptions options;
};
}  // namespace

Run add_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* sub = app.add_subcommand("train", "Train the ICIIA module on backbone features with simulated clients");
  sub->add_option("--features", args->features, "features file of the training split (iciia extract)")->required();
  sub->add_option("--out", args->out, "weights file to write (safetensors)")->required();
  sub->add_option("--preset", args->preset, "B: g = 1; T: g as large as d allows with >= 4 features per partition")
      ->check(CLI::IsMember({'B', 'T'}))
      ->capture_default_str();
  sub->add_option("--attention", args->attention, "full (the paper) or causal (k/v cache for any L)")
      ->check(CLI::IsMember({"full", "causal"}))
      ->capture_default_str();
  sub->add_option("--seed", args->options.seed, "seed of initialisation and client sampling")->capture_default_str();
  sub->add_option("--partitions", args->options.partitions, "partitions g (overrides the preset; 0: preset)")
      ->capture_default_str();
  auto* k = sub->add_option("--clients-k", args->clients_k, "classes per simulated client: K or KMIN-KMAX")
                ->capture_default_str();
  sub->add_option("--groups", args->groups, "class grouping file: a client photographs one group (see "
                                             "models/groups/fashion-mnist.txt)")
      ->excludes(k);
  sub->add_option("--mix", args->mix,
                  "a mixture of client kinds, one drawn per training sequence: KIND[:WEIGHT],... with KIND as "
                  "iciia eval --kinds spells it (k=1-6, groups, repeats, style, mixed); replaces --clients-k")
      ->excludes(k);
  sub->add_option("--styled", args->styled,
                  "styled features of the training split (iciia extract --styles N): what repeats, style and "
                  "mixed kinds of --mix draw from");
  add_training_options(sub, args->options);
  return [args]() -> int {
#ifdef ICIIA_HAVE_TORCH
    const train::FeatureSet set = train::read_features(args->features);
    train::TrainOptions o = args->options;
    o.preset = args->preset;
    o.attention = train::parse_attention(args->attention);
    const train::ClassGroups groups =
        args->groups.empty() ? train::ClassGroups{} : train::read_groups(args->groups, set.class_names);
    if (!args->mix.empty()) {
      o.mix = train::parse_mix(args->mix, groups);
    } else {
      o.clients = groups.empty() ? parse_k_range(args->clients_k) : train::ClientSpec{0, 0, groups};
    }
    std::optional<train::FeatureSet> styled;
    if (!args->styled.empty()) styled = train::read_features(args->styled);
    const IciiaConfig c = train::train_config(o, static_cast<int>(set.dim), static_cast<int>(set.num_classes));
    std::printf("ICIIA-%c %s: d %d, C %d, h %d, L %d, g %d%s; clients %s, sequences up to %d, %lld steps of %d\n",
                o.preset, args->attention.c_str(), c.dim, c.num_classes, c.num_heads, c.num_layers,
                c.num_partitions, c.num_partitions > 1 ? (c.shuffle ? " shuffled" : " unshuffled") : "",
                o.mix.empty() ? o.clients.describe().c_str() : ("mixture " + train::describe_mix(o.mix)).c_str(), o.seq_len, static_cast<long long>(train::train_steps(o, set.count)),
                o.batch);
    const train::TrainResult r = train::train_iciia(set, args->features, o, styled ? &*styled : nullptr, args->styled);
    r.net.save(args->out);
    std::printf("trained in %.1f s: loss %.4f, training accuracy %.2f%% (running means); wrote %s\n", r.seconds,
                r.final_loss, 100 * r.final_accuracy, args->out.c_str());
    return 0;
#else
    return training_unavailable("train");
#endif
  };
}

}  // namespace iciia::cli
