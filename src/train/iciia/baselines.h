// Training-free feature-space baselines `iciia eval` runs beside ICIIA and
// EM prior correction (docs/design.md, "Adaptation"). Both see what ICIIA
// sees: the backbone's features and logits of a client's history and target,
// nothing else, and adapt per client from scratch.
//
// - T3A, Iwasawa and Matsuo, "Test-Time Classifier Adjustment Module for
//   Model-Agnostic Domain Generalization", NeurIPS 2021: each class's support
//   set starts as the classifier's row; every image joins the support of its
//   pseudo-label (the backbone's argmax); per class only the `filter`
//   supports of lowest entropy stay; the prototype is the normalised sum of
//   the normalised supports, and logits are feature · prototype.
// - LAME, Boudiaf, Mueller, Ben Ayed, Bertinetto, "Parameter-free Online
//   Test-time Adaptation", CVPR 2022: Laplacian-regularised maximum
//   likelihood over the batch. With p_i the backbone's softmax and W the
//   kNN affinity of the (L2-normalised) features, the assignments solve
//   y_i = softmax(log p_i + Σ_j W_ij y_j) by fixed-point iteration (the
//   bound optimisation of the paper).
// No libtorch here; plain loops over at most a history's images.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace iciia::train {

// The backbone's last layer, logits = W · features + b, recovered from a
// features file by least squares (features are the classifier's input,
// docs/design.md "Model bundle", so the fit is exact up to float rounding).
struct LinearHead {
  int dim = 0, classes = 0;
  std::vector<double> weight;  // [classes][dim]
  std::vector<double> bias;    // [classes]
  double max_residual = 0;     // largest |fit - logit| over the rows fitted
};
// Features that are zero on every row (dead ReLU units) get weight 0.
// kInvalidArgument when there are fewer than dim + 1 rows or the system is
// singular even so.
LinearHead fit_linear_head(std::span<const float> features, std::span<const float> logits, int64_t rows, int dim,
                           int classes);

struct T3AOptions {
  int filter = 20;  // supports kept per class (the paper's M; its search grid holds 1, 5, 20, 50, 100, all)
};
// T3A logits of the last of `m` rows (the target; the rows before it are the
// history), features [m][dim], logits [m][classes].
std::vector<double> t3a_logits(const LinearHead& head, std::span<const float> features, std::span<const float> logits,
                               int m, const T3AOptions& options = {});

struct LameOptions {
  int knn = 5;              // neighbours per image (the paper's default affinity)
  int max_iterations = 100;
  double tolerance = 1e-8;  // on max |Δy|
};
// LAME's assignments y for all m rows ([m][classes]); probs are softmax rows.
std::vector<double> lame_assignments(std::span<const float> features, std::span<const float> probs, int m, int dim,
                                     int classes, const LameOptions& options = {});

}  // namespace iciia::train
