// `iciia eval`: accuracy on held-out images of simulated clients, for the
// backbone alone and for ICIIA variants, against the history length.
//
// Protocol. For each client kind (clients.h: k classes, a grouping, repeats,
// style, mixed) and each seed, `episodes` clients are drawn from the test
// split (repeats, style and mixed: from the styled copy of held-out test
// images, `extract --styles`), each with n_max + 1 distinct images of its
// kind; the last image is the target, and the
// history of length n is the episode's first n images, so every n sees the
// same targets (paired comparisons) and histories grow by appending, as in the
// browser. A method's accuracy is the fraction of targets it classifies
// correctly. Every method sees the same episodes within a seed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "iciia/model.h"
#include "train/features_file.h"
#include "train/iciia/baselines.h"
#include "train/iciia/clients.h"
#include "train/iciia/iciia_net.h"
#include "train/iciia/options.h"
#include "train/iciia/trainer.h"

namespace iciia::train {

struct Episodes {
  std::string clients;  // ClientSpec::describe()
  int n_max = 0;
  int64_t count = 0;
  std::vector<int64_t> images;           // [count][n_max + 1], the last one is the target
  std::vector<std::vector<int>> classes;  // [count] the client's classes
};

Episodes draw_episodes(const FeatureSet& test, const std::string& test_name, const ClientSpec& spec, int64_t count,
                       int n_max, uint64_t seed);

// The backbone's own logits on the targets; `restricted`: the argmax over the
// client's classes only (an oracle that is told the classes — a ceiling for
// what history can teach, not a method).
double backbone_accuracy(const FeatureSet& test, const Episodes& episodes, bool restricted);
// "Views told", a ceiling for repeats clients, not a method: the target's
// answer is the argmax of the backbone's softmax averaged over the target and
// every history image that is a view of the same source image (the styled
// set's `sources`), as if the client were told which of its past images show
// the same object. With no such view (other kinds, or a set without sources)
// it is the backbone's answer, so eval reports it for repeats clients only.
std::vector<double> views_accuracy(const FeatureSet& test, const Episodes& episodes, const std::vector<int>& ns);
// ICIIA as the browser runs it: the runtime model (SIMD kernels) with one
// session per episode, the history appended image by image and the target
// queried at each n in `ns` (cached k/v where the mode allows; the tests
// check the runtime against the torch module). prior_alpha >= 0: "ICIIA +
// prior", ICIIA's target posterior re-weighted by the EM prior estimated
// from the backbone's posteriors of [history; target] with that smoothing
// (what the runtime's `prior` mode estimates). gate_level > 0: the answer is
// the backbone's unless the shift test (adapt/shift_gate.h) at that level
// finds a label shift in [history; target].
std::vector<double> runtime_accuracy(std::shared_ptr<const IciiaModel> model, const FeatureSet& test, const Episodes& episodes,
                                     const std::vector<int>& ns, double prior_alpha = -1, double gate_level = 0);
// The training-free methods (baselines.h, adapt/prior_correction.h) at each
// n: "em-ml" (α = 0), "em-map" (α = kMapAlphaPerClass / C, the runtime's
// default), "t3a", "lame"; "em-map@gate": em-map behind the shift test at
// `gate_level`. `head` is the backbone's last layer (T3A).
std::vector<double> baseline_accuracy(const std::string& method, const FeatureSet& test, const Episodes& episodes,
                                      const std::vector<int>& ns, const LinearHead& head, double gate_level = 0);
// The runtime's default MAP smoothing: 0.3 pseudo-images over the classes
// (docs/design.md, "Adaptation").
inline constexpr double kMapAlphaPerClass = 0.3;
// The attention-free ablation (torch: the runtime has no such mode) on the
// targets; the history cannot change its answer.
double ff_accuracy(const IciiaNet& net, const FeatureSet& test, const Episodes& episodes);

// A row of the evaluation: the backbone, the oracle, a training-free
// baseline, a trained module, or a module with prior correction on top;
// "@gate" rows answer with the backbone unless the shift test fires.
struct Method {
  std::string name;  // "backbone", "oracle", "oracle-views", "em-ml", "em-map", "t3a", "lame", "ff", "B-full", ..., "B-causal+prior@gate"
  char preset = 0;   // 'B' / 'T' for modules (ff uses B's width)
  Attention attention = Attention::kFull;
  std::string base;  // "+prior" and "@gate" rows: the method they build on
  bool prior = false;  // a module's answer re-weighted by the EM prior
  bool gated = false;
  bool trained() const { return preset != 0 && base.empty(); }
  bool training_free() const { return preset == 0 && name != "backbone" && name.rfind("oracle", 0) != 0; }
};
// The methods eval reports, in table order.
const std::vector<Method>& eval_methods();
// Readable name for tables and legends ("ICIIA-B full").
std::string method_label(const std::string& name);


struct MethodResult {
  std::string method;
  std::vector<std::vector<double>> accuracy;  // [seed][n]
  std::vector<double> train_seconds;          // per seed; empty when loaded
  std::string weights;                        // loaded file, if any
};

struct ClientResult {
  std::string clients;
  std::vector<MethodResult> methods;
};

struct EvalResult {
  std::vector<ClientResult> per_clients;
  std::vector<int> ns;
  std::vector<uint64_t> seeds;
  int64_t episodes = 0;
  IciiaConfig config_b, config_t;  // the modules' hyper-parameters
  int64_t train_steps = 0;
  double backbone_test_accuracy = 0;  // over every test image, no clients
  double seconds = 0;                 // wall time of the whole evaluation
};

// `train` may be null when every trained method is loaded or skipped.
// `styled` (may be null): the styled test features that repeats, style and
// mixed clients draw from.
EvalResult evaluate(const FeatureSet* train, const std::string& train_name, const FeatureSet& test,
                    const std::string& test_name, const EvalOptions& options, const FeatureSet* styled = nullptr,
                    const std::string& styled_name = "");

// Mean and sample standard deviation over seeds of one n.
struct MeanStd {
  double mean = 0, std = 0;
};
MeanStd summarize(const MethodResult& m, size_t n_index);

}  // namespace iciia::train
