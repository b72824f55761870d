// Synthetic feature sets for the training tests: a backbone's view of a data
// set whose classes overlap pairwise, so a client's history provably helps.
#pragma once

#include <cmath>
#include <random>
#include <string>

#include "train/features_file.h"

namespace iciia::test {

// `classes` classes on a ring: an image of class c has angle 2*pi*c/classes
// plus Gaussian noise of `angle_noise` (in units of the gap between
// neighbours), so each class overlaps its two neighbours. The features are
// the point (cos, sin) mapped into `dim` dimensions by a random matrix that
// depends only on `dim` (one "backbone" for every seed, so train and test
// sets of different seeds match), plus small isotropic noise; the "backbone" logits are the best a context-free
// classifier can do from the angle (kappa * cos of the angle difference).
// Knowing a client's classes resolves most overlaps: a k = 2 client rarely
// holds two neighbours.
inline train::FeatureSet ring_features(int classes, int per_class, int dim, double angle_noise, uint32_t seed) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::mt19937 backbone(static_cast<uint32_t>(dim));
  std::vector<double> map(static_cast<size_t>(dim) * 2);
  for (auto& v : map) v = normal(backbone);
  std::mt19937 rng(seed);
  train::FeatureSet s;
  s.count = static_cast<int64_t>(classes) * per_class;
  s.dim = dim;
  s.num_classes = classes;
  s.source = "ring:" + std::to_string(seed);
  for (int c = 0; c < classes; ++c) s.class_names.push_back("ring" + std::to_string(c));
  const double gap = 2 * M_PI / classes;
  for (int i = 0; i < per_class; ++i)
    for (int c = 0; c < classes; ++c) {
      const double theta = gap * (c + angle_noise * normal(rng));
      const double p[2] = {std::cos(theta), std::sin(theta)};
      for (int j = 0; j < dim; ++j)
        s.features.push_back(static_cast<float>(2 * (map[2 * j] * p[0] + map[2 * j + 1] * p[1]) + 0.05 * normal(rng)));
      for (int k = 0; k < classes; ++k) s.logits.push_back(static_cast<float>(8 * std::cos(theta - gap * k)));
      s.labels.push_back(c);
    }
  return s;
}

}  // namespace iciia::test
