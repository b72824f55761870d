// Does a client's history show a label shift? The test that decides whether
// adapting is worth its risk (docs/design.md, "When to adapt").
//
// Every adaptation here (the ICIIA module, prior correction) earns its gain
// from clients whose class mix differs from the training population's, and
// costs accuracy on clients whose images span all classes: a short history
// of such a client still reads as a skewed mix, and the adapted answer acts
// on that noise. The likelihood-ratio test between "the client's prior is
// the source prior π_s" and "it is the EM estimate q" tells the two apart:
// for m images with posteriors p_i,
//     G = 2 Σ_i log Σ_y p_i(y) q(y) / π_s(y)
// is twice the log-likelihood ratio (p(x|q)/p(x|π_s) = Σ_y p(y|x) q(y)/π_s(y)
// for a calibrated p), and with q the maximum-likelihood estimate, Wilks's
// theorem makes G ~ χ²(C - 1) when there is no shift. A gated recognizer
// adapts when G exceeds the χ²(C - 1) quantile at the chosen level and
// answers with the backbone otherwise.
#pragma once

#include <span>

namespace iciia::adapt {

// G over the rows of `probs` (m x C softmax rows; all-zero rows, records
// without a posterior, are skipped) for the prior `q` against `source_prior`
// (empty: uniform). Never negative for the ML q; 0 for m = 0.
double shift_statistic(std::span<const float> probs, int num_classes, std::span<const double> q,
                       std::span<const double> source_prior);

// The quantile of χ² with `dof` degrees of freedom at probability `level`
// (0 < level < 1), by the Wilson-Hilferty cube-root approximation (within 1%
// of the exact quantile from 3 degrees of freedom up, within 5% below).
double chi_square_quantile(int dof, double level);

// The recognizer's default level: a shift that an all-class client's history
// would show by chance once in 100 is left alone.
inline constexpr double kDefaultShiftLevel = 0.99;

}  // namespace iciia::adapt
