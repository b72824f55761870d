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

#include "adapt/prior_correction.h"
#include "adapt/shift_gate.h"
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

namespace {

// Softmax of `n` rows of C logits.
void softmax_rows(const float* z, int64_t rows, int64_t C, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* zr = z + r * C;
    float* o = out + r * C;
    const float top = *std::max_element(zr, zr + C);
    double sum = 0;
    for (int64_t c = 0; c < C; ++c) sum += o[c] = std::exp(zr[c] - top);
    for (int64_t c = 0; c < C; ++c) o[c] = static_cast<float>(o[c] / sum);
  }
}

// The rows of one episode at history length n: the first n images, then the target.
std::vector<int64_t> rows_at(const int64_t* ep, int n, int n_max) {
  std::vector<int64_t> rows(ep, ep + n);
  rows.push_back(ep[n_max]);
  return rows;
}

}  // namespace

std::vector<double> views_accuracy(const FeatureSet& set, const Episodes& e, const std::vector<int>& ns) {
  const int64_t C = set.num_classes;
  const bool has_sources = set.sources.size() == static_cast<size_t>(set.count);
  std::vector<int64_t> correct(ns.size(), 0);
  std::vector<float> p(static_cast<size_t>(C));
  std::vector<double> mean(static_cast<size_t>(C));
  for (int64_t i = 0; i < e.count; ++i) {
    const int64_t* ep = e.images.data() + i * (e.n_max + 1);
    const int64_t target = ep[e.n_max];
    for (size_t j = 0; j < ns.size(); ++j) {
      std::fill(mean.begin(), mean.end(), 0.0);
      for (const int64_t r : rows_at(ep, ns[j], e.n_max)) {
        if (r != target && (!has_sources || set.sources[static_cast<size_t>(r)] != set.sources[static_cast<size_t>(target)]))
          continue;
        softmax_rows(set.logits.data() + r * C, 1, C, p.data());
        for (int64_t c = 0; c < C; ++c) mean[static_cast<size_t>(c)] += p[static_cast<size_t>(c)];
      }
      const int answer = static_cast<int>(std::max_element(mean.begin(), mean.end()) - mean.begin());
      correct[j] += answer == set.labels[static_cast<size_t>(target)];
    }
  }
  std::vector<double> out;
  for (int64_t c : correct) out.push_back(static_cast<double>(c) / static_cast<double>(e.count));
  return out;
}

namespace {

std::vector<float> posteriors(const FeatureSet& set, const std::vector<int64_t>& rows) {
  const int64_t C = set.num_classes;
  std::vector<float> probs(rows.size() * static_cast<size_t>(C));
  for (size_t i = 0; i < rows.size(); ++i)
    softmax_rows(set.logits.data() + rows[i] * C, 1, C, probs.data() + i * static_cast<size_t>(C));
  return probs;
}

// EM prior from the backbone's posteriors of `rows` (the last is the target).
std::vector<double> em_prior(const FeatureSet& set, const std::vector<int64_t>& rows, double alpha) {
  adapt::PriorOptions po;
  po.alpha = alpha;
  return adapt::estimate_prior(posteriors(set, rows), static_cast<int>(set.num_classes), {}, po).prior;
}

// The shift test over `rows` (uniform source prior, as the sets are balanced):
// G of the maximum-likelihood prior against the χ² quantile at `level`.
bool shift_detected(const FeatureSet& set, const std::vector<int64_t>& rows, double level) {
  const int C = static_cast<int>(set.num_classes);
  const std::vector<float> probs = posteriors(set, rows);
  const std::vector<double> q = adapt::estimate_prior(probs, C, {}, {}).prior;
  return adapt::shift_statistic(probs, C, q, {}) > adapt::chi_square_quantile(C - 1, level);
}

int backbone_argmax(const FeatureSet& set, int64_t image) {
  const float* z = set.logits.data() + image * set.num_classes;
  return static_cast<int>(std::max_element(z, z + set.num_classes) - z);
}

int corrected_argmax(const float* logits, int64_t C, const std::vector<double>& prior) {
  std::vector<float> p(static_cast<size_t>(C)), out(static_cast<size_t>(C));
  softmax_rows(logits, 1, C, p.data());
  adapt::correct_posterior(p, prior, {}, out);
  return static_cast<int>(std::max_element(out.begin(), out.end()) - out.begin());
}

}  // namespace

std::vector<double> runtime_accuracy(std::shared_ptr<const IciiaModel> model, const FeatureSet& test, const Episodes& e,
                                     const std::vector<int>& ns, double prior_alpha, double gate_level) {
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
        if (gate_level > 0 && !shift_detected(test, rows_at(ep, n, e.n_max), gate_level)) {
          correct[j] += backbone_argmax(test, ep[e.n_max]) == label;
          continue;
        }
        const std::vector<float> logits = session.query(feature(ep[e.n_max])).logits;
        int answer;
        if (prior_alpha >= 0)
          answer = corrected_argmax(logits.data(), test.num_classes,
                                    em_prior(test, rows_at(ep, n, e.n_max), prior_alpha / static_cast<double>(test.num_classes)));
        else
          answer = static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        correct[j] += answer == label;
      }
      if (n < e.n_max) session.append(feature(ep[n]));
    }
  }
  std::vector<double> out;
  for (int64_t c : correct) out.push_back(static_cast<double>(c) / static_cast<double>(e.count));
  return out;
}

std::vector<double> baseline_accuracy(const std::string& method, const FeatureSet& set, const Episodes& e,
                                      const std::vector<int>& ns, const LinearHead& head, double gate_level) {
  const int64_t d = set.dim, C = set.num_classes;
  if (method == "em-map@gate") {
    std::vector<int64_t> correct(ns.size(), 0);
    for (int64_t i = 0; i < e.count; ++i) {
      const int64_t* ep = e.images.data() + i * (e.n_max + 1);
      const int32_t label = set.labels[static_cast<size_t>(ep[e.n_max])];
      for (size_t j = 0; j < ns.size(); ++j) {
        const std::vector<int64_t> rows = rows_at(ep, ns[j], e.n_max);
        const int answer = shift_detected(set, rows, gate_level)
                               ? corrected_argmax(set.logits.data() + rows.back() * C, C,
                                                  em_prior(set, rows, kMapAlphaPerClass / static_cast<double>(C)))
                               : backbone_argmax(set, rows.back());
        correct[j] += answer == label;
      }
    }
    std::vector<double> out;
    for (int64_t c : correct) out.push_back(static_cast<double>(c) / static_cast<double>(e.count));
    return out;
  }
  if (method != "em-ml" && method != "em-map" && method != "t3a" && method != "lame")
    throw Error(ErrorCode::kInvalidArgument, "baseline_accuracy: unknown method '" + method + "'");
  std::vector<int64_t> correct(ns.size(), 0);
  std::vector<float> feats, logits, probs;
  for (int64_t i = 0; i < e.count; ++i) {
    const int64_t* ep = e.images.data() + i * (e.n_max + 1);
    const int32_t label = set.labels[static_cast<size_t>(ep[e.n_max])];
    for (size_t j = 0; j < ns.size(); ++j) {
      const std::vector<int64_t> rows = rows_at(ep, ns[j], e.n_max);
      const int m = static_cast<int>(rows.size());
      int answer = 0;
      if (method == "em-ml" || method == "em-map") {
        const double alpha = method == "em-ml" ? 0.0 : kMapAlphaPerClass / static_cast<double>(C);
        answer = corrected_argmax(set.logits.data() + rows.back() * C, C, em_prior(set, rows, alpha));
      } else {
        feats.resize(static_cast<size_t>(m * d));
        logits.resize(static_cast<size_t>(m * C));
        for (int r = 0; r < m; ++r) {
          std::copy_n(set.features.data() + rows[static_cast<size_t>(r)] * d, d, feats.data() + r * d);
          std::copy_n(set.logits.data() + rows[static_cast<size_t>(r)] * C, C, logits.data() + r * C);
        }
        std::vector<double> scores;
        if (method == "t3a") {
          scores = t3a_logits(head, feats, logits, m);
        } else {
          probs.resize(logits.size());
          softmax_rows(logits.data(), m, C, probs.data());
          const std::vector<double> y = lame_assignments(feats, probs, m, static_cast<int>(d), static_cast<int>(C));
          scores.assign(y.end() - C, y.end());
        }
        answer = static_cast<int>(std::max_element(scores.begin(), scores.end()) - scores.begin());
      }
      correct[j] += answer == label;
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
      {"backbone", 0, Attention::kFull, ""},
      {"oracle", 0, Attention::kFull, ""},
      {"oracle-views", 0, Attention::kFull, ""},
      {"em-ml", 0, Attention::kFull, ""},
      {"em-map", 0, Attention::kFull, ""},
      {"em-map@gate", 0, Attention::kFull, "em-map", false, true},
      {"t3a", 0, Attention::kFull, ""},
      {"lame", 0, Attention::kFull, ""},
      {"ff", 'B', Attention::kFf, ""},
      {"B-full", 'B', Attention::kFull, ""},
      {"B-causal", 'B', Attention::kCausal, ""},
      {"T-full", 'T', Attention::kFull, ""},
      {"T-causal", 'T', Attention::kCausal, ""},
      {"B-full+prior", 'B', Attention::kFull, "B-full", true},
      {"B-causal+prior", 'B', Attention::kCausal, "B-causal", true},
      {"B-causal@gate", 'B', Attention::kCausal, "B-causal", false, true},
      {"B-causal+prior@gate", 'B', Attention::kCausal, "B-causal", true, true},
  };
  return methods;
}

std::string method_label(const std::string& name) {
  if (name == "backbone") return "backbone";
  if (name == "oracle") return "oracle (classes told)";
  if (name == "oracle-views") return "views told (oracle)";
  if (name == "ff") return "ff (no attention)";
  if (name == "em-ml") return "EM prior (ML)";
  if (name == "em-map") return "EM prior (MAP)";
  if (name == "t3a") return "T3A";
  if (name == "lame") return "LAME";
  if (const size_t at = name.find("@gate"); at != std::string::npos) return method_label(name.substr(0, at)) + ", gated";
  const size_t plus = name.find('+');
  if (plus != std::string::npos) return method_label(name.substr(0, plus)) + " + prior";
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
                    const std::string& test_name, const EvalOptions& o, const FeatureSet* styled,
                    const std::string& styled_name) {
  const auto start = std::chrono::steady_clock::now();
  if (o.seeds.empty()) throw Error(ErrorCode::kInvalidArgument, "eval: no seeds");
  if (o.ns.empty()) throw Error(ErrorCode::kInvalidArgument, "eval: no history lengths");
  if (train) check_compatible(*train, train_name, test, test_name);
  if (styled) check_compatible(*styled, styled_name, test, test_name);
  std::vector<ClientSpec> clients = o.clients;
  if (clients.empty()) clients = {ClientSpec{2, 2, {}}, ClientSpec{3, 3, {}}};
  const int n_max = *std::max_element(o.ns.begin(), o.ns.end());

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
      throw Error(ErrorCode::kInvalidArgument, "eval: --skip " + name + ": not a method (backbone, oracle, oracle-views, em-ml, em-map, "
                                                                          "em-map@gate, t3a, lame, ff, B-full, B-causal, T-full, "
                                                                          "T-causal, B-full+prior, B-causal+prior, "
                                                                          "B-causal@gate, B-causal+prior@gate)");
  }
  // Which set each client kind draws from.
  std::vector<const FeatureSet*> sets;
  for (const auto& spec : clients) {
    if (spec.needs_styles() && !styled)
      throw Error(ErrorCode::kInvalidArgument, "eval: clients " + spec.describe() +
                                                   " need styled test features (--styled FILE, from iciia extract --styles)");
    sets.push_back(spec.needs_styles() ? styled : &test);
  }
  // A "+prior" row needs its module; skipping the module skips it.
  std::vector<std::string> skip = o.skip;
  for (const auto& m : eval_methods())
    if (!m.base.empty() && std::find(skip.begin(), skip.end(), m.base) != skip.end()) skip.push_back(m.name);
  auto skipped = [&](const std::string& name) { return std::find(skip.begin(), skip.end(), name) != skip.end(); };
  // T3A needs the backbone's last layer; the features file holds its input
  // and output, which determine it.
  LinearHead head;
  if (!skipped("t3a")) {
    head = fit_linear_head(test.features, test.logits, test.count, static_cast<int>(test.dim),
                           static_cast<int>(test.num_classes));
    float scale = 0;
    for (float v : test.logits) scale = std::max(scale, std::fabs(v));
    if (!(head.max_residual <= 1e-3 * std::max(1.0f, scale)))
      throw Error(ErrorCode::kInvalidArgument, "eval: " + test_name + ": the logits are not an affine map of the "
                                               "features (residual " + std::to_string(head.max_residual) +
                                               "), so T3A has no classifier to adjust (--skip t3a)");
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
    correct += backbone_argmax(test, i) == test.labels[static_cast<size_t>(i)];
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
    for (const auto& m : eval_methods()) {
      // Only repeats clients see an object twice: elsewhere "views told" is the backbone.
      if (skipped(m.name) || (m.name == "oracle-views" && spec.kind != ClientKind::kRepeats)) continue;
      cr.methods.push_back({m.name, {}, {}, o.weights.count(m.name) ? o.weights.at(m.name) : ""});
    }
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
  auto spec_set_name = [&](const ClientSpec& spec) { return spec.needs_styles() ? styled_name : test_name; };
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
      const FeatureSet& set = *sets[k];
      const Episodes e = draw_episodes(set, spec_set_name(clients[k]), clients[k], o.episodes, n_max, seed);
      parallel_for(o.jobs, cr.methods.size(), o.train.threads, [&](size_t j) {
        MethodResult& mr = cr.methods[j];
        const Method& m = *std::find_if(eval_methods().begin(), eval_methods().end(),
                                        [&](const Method& x) { return x.name == mr.method; });
        std::vector<double> acc;
        if (mr.method == "backbone" || mr.method == "oracle")
          acc.assign(o.ns.size(), backbone_accuracy(set, e, mr.method == "oracle"));
        else if (mr.method == "oracle-views")
          acc = views_accuracy(set, e, o.ns);
        else if (m.training_free())
          acc = baseline_accuracy(mr.method, set, e, o.ns, head, o.gate_level);
        else if (mr.method == "ff")
          acc.assign(o.ns.size(), ff_accuracy(*ff, set, e));
        else if (!m.base.empty())
          acc = runtime_accuracy(models.at(m.base), set, e, o.ns, m.prior ? kMapAlphaPerClass : -1,
                                 m.gated ? o.gate_level : 0);
        else
          acc = runtime_accuracy(models.at(mr.method), set, e, o.ns);
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
