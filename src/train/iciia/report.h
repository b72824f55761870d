// The evaluation's written evidence: markdown tables (mean +- std over seeds),
// the goals checked on the measured figures, and the accuracy plot.
#pragma once

#include <string>

#include "train/iciia/evaluate.h"
#include "train/report/line_plot.h"

namespace iciia::train {

struct ReportContext {
  std::string title;    // e.g. "Fashion-MNIST"
  std::string command;  // the command line that produced the figures
  std::string plot;     // file name of the plot, linked from the markdown (optional)
};

// The goals of issue #5, each with the figure it is judged on. Empty when the
// evaluation lacks what a goal needs (k = 2, n = 16, the methods).
struct GoalCheck {
  std::string goal, measured;
  bool met = false;
};
std::vector<GoalCheck> check_goals(const EvalResult& result);

std::string markdown_report(const EvalResult& result, const ReportContext& context);
// One panel per client kind: accuracy against history length, one line per
// method, std over seeds as bars.
LinePlot accuracy_plot(const EvalResult& result);

}  // namespace iciia::train
