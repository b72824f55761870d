#include "train/iciia/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "iciia/session.h"
#include "util/error.h"

namespace iciia::train {

namespace {

// Episodes of different client kinds come from different streams of the
// same seed (FNV-1a of the kind's name), so adding a kind changes no other.
uint64_t stream_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  return seed ^ h;
}

// Runs task(0..n-1) on up to `jobs` threads, each with `torch_threads` torch
// threads (OpenMP keeps that per thread); rethrows the first error.
void parallel_for(int jobs, size_t n, int torch_threads, const std::function<void(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    if (torch_threads > 0) torch::set_num_threads(torch_threads);
    for (size_t i; (i = next++) < n;) {
      try {
        task(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min<int>(jobs, static_cast<int>(n)); ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

Episodes draw_episodes(const FeatureSet& test, const std::string& test_name, const ClientSpec& spec, int64_t count,
                       int n_max, uint64_t seed) {
  if (count < 1) throw Error(ErrorCode::kInvalidArgument, "episode count must be at least 1");
  if (n_max < 0) throw Error(ErrorCode::kInvalidArgument, "history length must not be negative");
  const ClientSampler sampler(test, spec, n_max + 1, test_name);
  Episodes e;
  e.clients = spec.describe();
  e.n_max = n_max;
  e.count = count;
  e.images.resize(static_cast<size_t>(count) * (n_max + 1));
  e.classes.resize(static_cast<size_t>(count));
  std::mt19937_64 rng(stream_seed(seed, e.clients));
  for (int64_t i = 0; i < count; ++i)
    sampler.sample(rng, e.classes[static_cast<size_t>(i)], e.images.data() + i * (n_max + 1));
  return e;
}

double backbone_accuracy(const FeatureSet& test, const Episodes& e, bool restricted) {
  const int64_t C = test.num_classes;
  int64_t correct = 0;
  for (int64_t i = 0; i < e.count; ++i) {
    const int64_t target = e.images[static_cast<size_t>(i * (e.n_max + 1) + e.n_max)];
    const float* logits = test.logits.data() + target * C;
    int best = -1;
    for (int c = 0; c < C; ++c) {
      if (restricted) {
        const auto& cls = e.classes[static_cast<size_t>(i)];
        if (!std::binary_search(cls.begin(), cls.end(), c)) continue;
      }
      if (best < 0 || logits[c] > logits[best]) best = c;
    }
    correct += best == test.labels[static_cast<size_t>(target)];
  }
  return static_cast<double>(correct) / static_cast<double>(e.count);
}

std::vector<double> runtime_accuracy(std::shared_ptr<const IciiaModel> model, const FeatureSet& test, const Episodes& e,
                                     const std::vector<int>& ns) {
  for (int n : ns)
    if (n < 0 || n > e.n_max)
      throw Error(ErrorCode::kInvalidArgument, "history length " + std::to_string(n) + " outside the episodes' [0, " +
                                                   std::to_string(e.n_max) + "]");
  const int64_t d = test.dim;
  std::vector<int64_t> correct(ns.size(), 0);
  auto feature = [&](int64_t image) { return std::span<const float>(test.features.data() + image * d, static_cast<size_t>(d)); };
  IciiaSession session(std::move(model), SessionOptions{std::max(1, e.n_max)});
  for (int64_t i = 0; i < e.count; ++i) {
    const int64_t* ep = e.images.data() + i * (e.n_max + 1);
    const int32_t label = test.labels[static_cast<size_t>(ep[e.n_max])];
    session.clear();
    for (int n = 0; n <= e.n_max; ++n) {
      for (size_t j = 0; j < ns.size(); ++j) {
        if (ns[j] != n) continue;
        const std::vector<float> logits = session.query(feature(ep[e.n_max])).logits;
        correct[j] += std::max_element(logits.begin(), logits.end()) - logits.begin() == label;
      }
      if (n < e.n_max) session.append(feature(ep[n]));
    }
  }
  std::vector<double> out;
  for (int64_t c : correct) out.push_back(static_cast<double>(c) / static_cast<double>(e.count));
  return out;
}

double ff_accuracy(const IciiaNet& net, const FeatureSet& test, const Episodes& e) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> targets, labels;
  for (int64_t i = 0; i < e.count; ++i) {
    targets.push_back(e.images[static_cast<size_t>(i * (e.n_max + 1) + e.n_max)]);
    labels.push_back(test.labels[static_cast<size_t>(targets.back())]);
  }
  const torch::Tensor X = torch::from_blob(const_cast<float*>(test.features.data()), {test.count, test.dim}, torch::kFloat32);
  const torch::Tensor idx = torch::from_blob(targets.data(), {e.count}, torch::kInt64);
  const torch::Tensor logits = net.forward(X.index_select(0, idx).view({e.count, 1, test.dim})).select(1, 0);
  const torch::Tensor y = torch::from_blob(labels.data(), {e.count}, torch::kInt64);
  return static_cast<double>(logits.argmax(1).eq(y).sum().item<int64_t>()) / static_cast<double>(e.count);
}

const std::vector<Method>& eval_methods() {
  static const std::vector<Method> methods = {
      {"backbone", 0, Attention::kFull},        {"oracle", 0, Attention::kFull},
      {"ff", 'B', Attention::kFf},              {"B-full", 'B', Attention::kFull},
      {"B-causal", 'B', Attention::kCausal},    {"T-full", 'T', Attention::kFull},
      {"T-causal", 'T', Attention::kCausal},
  };
  return methods;
}

std::string method_label(const std::string& name) {
  if (name == "backbone") return "backbone";
  if (name == "oracle") return "oracle (classes told)";
  if (name == "ff") return "ff (no attention)";
  return "ICIIA-" + name.substr(0, 1) + " " + name.substr(2);
}

MeanStd summarize(const MethodResult& m, size_t n_index) {
  MeanStd r;
  const size_t k = m.accuracy.size();
  if (k == 0) return r;
  for (const auto& a : m.accuracy) r.mean += a[n_index];
  r.mean /= static_cast<double>(k);
  if (k > 1) {
    double ss = 0;
    for (const auto& a : m.accuracy) ss += (a[n_index] - r.mean) * (a[n_index] - r.mean);
    r.std = std::sqrt(ss / static_cast<double>(k - 1));
  }
  return r;
}

EvalResult evaluate(const FeatureSet* train, const std::string& train_name, const FeatureSet& test,
                    const std::string& test_name, const EvalOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.seeds.empty()) throw Error(ErrorCode::kInvalidArgument, "eval: no seeds");
  if (o.ns.empty()) throw Error(ErrorCode::kInvalidArgument, "eval: no history lengths");
  if (train) check_compatible(*train, train_name, test, test_name);
  std::vector<ClientSpec> clients = o.clients;
  if (clients.empty()) clients = {ClientSpec{2, 2, {}}, ClientSpec{3, 3, {}}};
  const int n_max = *std::max_element(o.ns.begin(), o.ns.end());

  auto skipped = [&](const std::string& name) { return std::find(o.skip.begin(), o.skip.end(), name) != o.skip.end(); };
  for (const auto& [name, path] : o.weights) {
    const auto& ms = eval_methods();
    auto it = std::find_if(ms.begin(), ms.end(), [&](const Method& m) { return m.name == name; });
    if (it == ms.end() || !it->trained() || it->attention == Attention::kFf)
      throw Error(ErrorCode::kInvalidArgument, "eval: --weights " + name + "=" + path +
                                                   ": weights can be given for B-full, B-causal, T-full, T-causal");
  }
  for (const auto& name : o.skip) {
    const auto& ms = eval_methods();
    if (std::none_of(ms.begin(), ms.end(), [&](const Method& m) { return m.name == name; }))
      throw Error(ErrorCode::kInvalidArgument, "eval: --skip " + name + ": not a method (backbone, oracle, ff, "
                                                                          "B-full, B-causal, T-full, T-causal)");
  }

  EvalResult result;
  result.ns = o.ns;
  result.seeds = o.seeds;
  result.episodes = o.episodes;
  // A method's training options: o.train.partitions overrides T's rule only.
  auto options_for = [&](char preset, Attention attention, uint64_t seed) {
    TrainOptions t = o.train;
    t.preset = preset;
    t.partitions = preset == 'T' ? o.train.partitions : 0;
    t.attention = attention;
    t.seed = seed;
    return t;
  };
  auto config_for = [&](char preset) {
    return train_config(options_for(preset, Attention::kFull, 0), static_cast<int>(test.dim),
                        static_cast<int>(test.num_classes));
  };
  result.config_b = config_for('B');
  result.config_t = config_for('T');
  if (train) result.train_steps = train_steps(o.train, train->count);
  int64_t correct = 0;
  for (int64_t i = 0; i < test.count; ++i) {
    const float* z = test.logits.data() + i * test.num_classes;
    correct += std::max_element(z, z + test.num_classes) - z == test.labels[static_cast<size_t>(i)];
  }
  result.backbone_test_accuracy = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(1, test.count));

  std::map<std::string, std::shared_ptr<const IciiaModel>> loaded;
  for (const auto& [name, path] : o.weights) {
    auto model = IciiaModel::load_file(path);
    const IciiaConfig& c = model->config();
    if (c.dim != test.dim || c.num_classes != test.num_classes)
      throw Error(ErrorCode::kInvalidArgument, "eval: " + path + " takes " + std::to_string(c.dim) +
                                                   "-wide features and has " + std::to_string(c.num_classes) +
                                                   " classes, but " + test_name + " has " + std::to_string(test.dim) +
                                                   " and " + std::to_string(test.num_classes));
    loaded.emplace(name, std::move(model));
  }

  for (const auto& spec : clients) {
    ClientResult cr;
    cr.clients = spec.describe();
    for (const auto& m : eval_methods())
      if (!skipped(m.name)) cr.methods.push_back({m.name, {}, {}, o.weights.count(m.name) ? o.weights.at(m.name) : ""});
    result.per_clients.push_back(std::move(cr));
  }

  std::vector<Method> to_train;
  for (const auto& m : eval_methods()) {
    if (!m.trained() || skipped(m.name) || loaded.count(m.name)) continue;
    if (!train)
      throw Error(ErrorCode::kInvalidArgument, "eval: method " + m.name + " needs --train features (or --weights " +
                                                   m.name + "=FILE, or --skip " + m.name + ")");
    to_train.push_back(m);
  }
  std::mutex log_mutex;
  const size_t headline = std::find(o.ns.begin(), o.ns.end(), 16) != o.ns.end()
                              ? static_cast<size_t>(std::find(o.ns.begin(), o.ns.end(), 16) - o.ns.begin())
                              : o.ns.size() - 1;

  for (uint64_t seed : o.seeds) {
    // Modules of this seed, trained unless given; all but ff run in the runtime.
    std::vector<std::optional<TrainResult>> trained(to_train.size());
    parallel_for(o.jobs, to_train.size(), o.train.threads, [&](size_t i) {
      TrainOptions t = options_for(to_train[i].preset, to_train[i].attention, seed);
      // One bar at a time: parallel trainings report a line when done.
      t.label = o.verbose && o.jobs <= 1 ? to_train[i].name + " seed " + std::to_string(seed) : "";
      trained[i].emplace(train_iciia(*train, train_name, t));
      if (o.verbose && o.jobs > 1) {
        std::lock_guard<std::mutex> lock(log_mutex);
        std::fprintf(stderr, "seed %llu: trained %s in %.1f s (loss %.4f, training accuracy %.2f%%)\n",
                     static_cast<unsigned long long>(seed), to_train[i].name.c_str(), trained[i]->seconds,
                     trained[i]->final_loss, 100 * trained[i]->final_accuracy);
      }
    });
    std::map<std::string, std::shared_ptr<const IciiaModel>> models = loaded;
    std::map<std::string, double> seconds;
    const IciiaNet* ff = nullptr;
    for (size_t i = 0; i < to_train.size(); ++i) {
      seconds[to_train[i].name] = trained[i]->seconds;
      if (to_train[i].attention == Attention::kFf)
        ff = &trained[i]->net;
      else
        models[to_train[i].name] = IciiaModel::from_tensors(trained[i]->net.config(), trained[i]->net.named_tensors());
    }

    for (size_t k = 0; k < clients.size(); ++k) {
      ClientResult& cr = result.per_clients[k];
      const Episodes e = draw_episodes(test, test_name, clients[k], o.episodes, n_max, seed);
      parallel_for(o.jobs, cr.methods.size(), o.train.threads, [&](size_t j) {
        MethodResult& mr = cr.methods[j];
        std::vector<double> acc;
        if (mr.method == "backbone" || mr.method == "oracle")
          acc.assign(o.ns.size(), backbone_accuracy(test, e, mr.method == "oracle"));
        else if (mr.method == "ff")
          acc.assign(o.ns.size(), ff_accuracy(*ff, test, e));
        else
          acc = runtime_accuracy(models.at(mr.method), test, e, o.ns);
        if (seconds.count(mr.method)) mr.train_seconds.push_back(seconds.at(mr.method));
        mr.accuracy.push_back(std::move(acc));
      });
      if (o.verbose) {
        std::fprintf(stderr, "eval seed %llu, clients %s, %lld episodes, n=%d:", static_cast<unsigned long long>(seed),
                     cr.clients.c_str(), static_cast<long long>(e.count), o.ns[headline]);
        for (const auto& mr : cr.methods)
          std::fprintf(stderr, " %s %.2f%%", mr.method.c_str(), 100 * mr.accuracy.back()[headline]);
        std::fprintf(stderr, "\n");
      }
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace iciia::train
