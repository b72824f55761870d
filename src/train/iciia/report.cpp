#include "train/iciia/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

namespace iciia::train {

namespace {

// Largest fall of the mean accuracy from one history length to the next that
// still counts as "rising with n": the sampling noise of a mean over 3 seeds
// of 5000 episodes is ~0.15 points.
constexpr double kNoiseDrop = 0.003;

std::string pct(double v, int decimals = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, 100 * v);
  return buf;
}

const MethodResult* find_method(const ClientResult& c, const std::string& name) {
  for (const auto& m : c.methods)
    if (m.method == name) return &m;
  return nullptr;
}

const ClientResult* find_clients(const EvalResult& r, const std::string& name) {
  for (const auto& c : r.per_clients)
    if (c.clients == name) return &c;
  return nullptr;
}

std::string config_line(const IciiaConfig& c) {
  return "d " + std::to_string(c.dim) + ", C " + std::to_string(c.num_classes) + ", h " + std::to_string(c.num_heads) +
         ", L " + std::to_string(c.num_layers) + ", g " + std::to_string(c.num_partitions) +
         (c.num_partitions > 1 ? " (" + std::to_string(c.partition_size()) + " features per partition, shuffle " +
                                     (c.shuffle ? "on" : "off") + ")"
                               : "");
}

bool is_module(const std::string& name) {
  return name == "B-full" || name == "B-causal" || name == "T-full" || name == "T-causal";
}

bool is_iciia(const std::string& name) { return is_module(name) || (name.size() > 2 && name[1] == '-'); }

// Error cut of accuracy a against the reference accuracy b.
double error_cut(double a, double b) { return b < 1 ? 1 - (1 - a) / (1 - b) : 0; }

// The goals of issue #10 (adaptation that earns its place), for every ICIIA
// row (modules and "+prior"): never worse than the backbone by more than 0.3
// points; at n >= 4 at least the best training-free baseline; k=2, n=16
// error at most 0.7x the better EM's; style n=16 error cut >= 30% and
// repeats n=16 error cut >= 50% against the backbone.
void check_adaptation_goals(const EvalResult& r, std::vector<GoalCheck>& goals) {
  std::vector<std::string> names;
  for (const auto& c : r.per_clients)
    for (const auto& m : c.methods)
      if (is_iciia(m.method) && std::find(names.begin(), names.end(), m.method) == names.end()) names.push_back(m.method);
  const auto n16 = std::find(r.ns.begin(), r.ns.end(), 16);
  for (const auto& name : names) {
    const std::string label = method_label(name);
    // Never worse than the backbone by > 0.3 points.
    double worst = 1;
    std::string where;
    // At n >= 4, at least the best training-free baseline.
    double worst_free = 1;
    std::string where_free;
    bool have_free = false;
    for (const auto& c : r.per_clients) {
      const MethodResult* m = find_method(c, name);
      const MethodResult* bb = find_method(c, "backbone");
      if (!m || !bb) continue;
      for (size_t i = 0; i < r.ns.size(); ++i) {
        const double d = summarize(*m, i).mean - summarize(*bb, i).mean;
        if (d < worst) worst = d, where = c.clients + ", n=" + std::to_string(r.ns[i]);
        if (r.ns[i] < 4) continue;
        double best = -1;
        std::string best_name;
        for (const char* f : {"em-ml", "em-map", "em-map@gate", "t3a", "lame"})
          if (const MethodResult* b = find_method(c, f); b && summarize(*b, i).mean > best)
            best = summarize(*b, i).mean, best_name = f;
        if (best < 0) continue;
        have_free = true;
        const double df = summarize(*m, i).mean - best;
        if (df < worst_free)
          worst_free = df, where_free = c.clients + ", n=" + std::to_string(r.ns[i]) + " against " + method_label(best_name);
      }
    }
    if (!where.empty())
      goals.push_back({label + ": never more than 0.3 points below the backbone (every kind and n)",
                       "worst: " + pct(worst) + " points at " + where, worst >= -0.003 - 1e-12});
    if (have_free)
      goals.push_back({label + ": at n >= 4, at least the best training-free baseline (every kind)",
                       "worst: " + pct(worst_free) + " points at " + where_free, worst_free >= -1e-12});
    if (n16 == r.ns.end()) continue;
    const size_t at = static_cast<size_t>(n16 - r.ns.begin());
    if (const ClientResult* k2 = find_clients(r, "k=2")) {
      const MethodResult* m = find_method(*k2, name);
      const MethodResult* ml = find_method(*k2, "em-ml");
      const MethodResult* map = find_method(*k2, "em-map");
      if (m && (ml || map)) {
        const double em = std::max(ml ? summarize(*ml, at).mean : 0, map ? summarize(*map, at).mean : 0);
        const double a = summarize(*m, at).mean;
        const double ratio = (1 - a) / std::max(1e-12, 1 - em);
        goals.push_back({label + ", k=2, n=16: error <= 0.7x the better EM prior correction's",
                         "error " + pct(1 - a) + "% vs EM " + pct(1 - em) + "% (" + pct(ratio / 100, 2) + "x)",
                         ratio <= 0.7});
      }
    }
    for (const auto& [kind, cut] : std::vector<std::pair<std::string, double>>{{"style", 0.30}, {"repeats", 0.50}})
      for (const auto& c : r.per_clients) {
        if (c.clients != kind && c.clients.rfind(kind + "(", 0) != 0) continue;
        const MethodResult* m = find_method(c, name);
        const MethodResult* bb = find_method(c, "backbone");
        if (!m || !bb) continue;
        const double a = summarize(*m, at).mean, b = summarize(*bb, at).mean;
        const double achieved = error_cut(a, b);
        goals.push_back({label + ", " + c.clients + ", n=16: cuts the backbone's error by >= " + pct(cut, 0) + "%",
                         "error " + pct(1 - b) + "% -> " + pct(1 - a) + "%, cut " + pct(achieved, 1) + "%",
                         achieved >= cut});
      }
  }
}

}  // namespace

std::vector<GoalCheck> check_goals(const EvalResult& r) {
  std::vector<GoalCheck> goals;
  goals.push_back({"backbone test accuracy >= 92%", pct(r.backbone_test_accuracy) + "%",
                   r.backbone_test_accuracy >= 0.92});
  const ClientResult* k2 = find_clients(r, "k=2");
  const auto n16 = std::find(r.ns.begin(), r.ns.end(), 16);
  if (k2 && n16 != r.ns.end()) {
    const size_t at = static_cast<size_t>(n16 - r.ns.begin());
    const MethodResult* bb = find_method(*k2, "backbone");
    const MethodResult* ff = find_method(*k2, "ff");
    for (const auto& [name, cut] : std::vector<std::pair<std::string, double>>{
             {"B-full", 0.75}, {"B-causal", 0.75}, {"T-full", 0.65}, {"T-causal", 0.65}}) {
      const MethodResult* m = find_method(*k2, name);
      if (!m || !bb) continue;
      const double a = summarize(*m, at).mean, b = summarize(*bb, at).mean;
      const double achieved = b < 1 ? 1 - (1 - a) / (1 - b) : 0;
      goals.push_back({method_label(name) + ", k=2, n=16: cuts the backbone's error by >= " + pct(cut, 0) + "%",
                       "error " + pct(1 - b) + "% -> " + pct(1 - a) + "%, cut " + pct(achieved, 1) + "%",
                       achieved >= cut});
      if (ff) {
        const double f = summarize(*ff, at).mean;
        const double share = a > b ? (a - f) / (a - b) : 0;
        goals.push_back({method_label(name) + ", k=2, n=16: gain over ff >= 3/4 of the gain over the backbone",
                         "gain over backbone " + pct(a - b) + " points, over ff " + pct(a - f) + " points (" +
                             pct(share, 0) + "%)",
                         share >= 0.75});
      }
    }
  }
  for (const auto& c : r.per_clients)
    for (const auto& m : c.methods) {
      if (!is_module(m.method)) continue;
      double worst = 0;
      for (size_t i = 0; i + 1 < r.ns.size(); ++i)
        worst = std::max(worst, summarize(m, i).mean - summarize(m, i + 1).mean);
      const double rise = summarize(m, r.ns.size() - 1).mean - summarize(m, 0).mean;
      goals.push_back({method_label(m.method) + ", " + c.clients + ": accuracy rises with n",
                       "n=" + std::to_string(r.ns.front()) + " -> " + std::to_string(r.ns.back()) + ": +" +
                           pct(rise) + " points; largest fall between neighbouring n " + pct(worst) + " points",
                       rise > 0 && worst <= kNoiseDrop});
    }
  for (const std::string preset : {"B", "T"}) {
    double worst = -1;
    std::string where;
    for (const auto& c : r.per_clients) {
      const MethodResult* f = find_method(c, preset + "-full");
      const MethodResult* ca = find_method(c, preset + "-causal");
      if (!f || !ca) continue;
      for (size_t i = 0; i < r.ns.size(); ++i) {
        const double d = summarize(*f, i).mean - summarize(*ca, i).mean;
        if (std::fabs(d) > worst) {
          worst = std::fabs(d);
          where = c.clients + ", n=" + std::to_string(r.ns[i]) + ": full - causal = " + pct(d) + " points";
        }
      }
    }
    if (worst >= 0)
      goals.push_back({"ICIIA-" + preset + ": causal within 1 point of full (every client kind and n)",
                       "largest difference at " + where, worst <= 0.01 + 1e-12});
  }
  check_adaptation_goals(r, goals);
  return goals;
}

std::string markdown_report(const EvalResult& r, const ReportContext& ctx) {
  std::ostringstream md;
  md << "## " << ctx.title << "\n\n";
  if (!ctx.command.empty()) md << "```sh\n" << ctx.command << "\n```\n\n";
  md << "- backbone test accuracy (every test image): " << pct(r.backbone_test_accuracy) << "%\n";
  md << "- ICIIA-B: " << config_line(r.config_b) << "; ICIIA-T: " << config_line(r.config_t) << "\n";
  if (r.train_steps) md << "- training: " << r.train_steps << " steps per module, retrained for every seed\n";
  md << "- seeds " ;
  for (size_t i = 0; i < r.seeds.size(); ++i) md << (i ? ", " : "") << r.seeds[i];
  md << "; " << r.episodes << " episodes per client kind and seed (the same episodes for every method and n); "
     << "cells are mean ± std over seeds, in percent\n";
  md << "- wall time of the whole evaluation: " << static_cast<int>(std::lround(r.seconds)) << " s\n\n";

  for (const auto& c : r.per_clients) {
    md << "### Clients " << c.clients << "\n\n| method |";
    for (int n : r.ns) md << " n=" << n << " |";
    md << " train s |\n|---|";
    for (size_t i = 0; i < r.ns.size(); ++i) md << "---:|";
    md << "---:|\n";
    for (const auto& m : c.methods) {
      md << "| " << method_label(m.method) << " |";
      for (size_t i = 0; i < r.ns.size(); ++i) {
        const MeanStd s = summarize(m, i);
        md << " " << pct(s.mean) << " ± " << pct(s.std) << " |";
      }
      if (!m.weights.empty()) {
        md << " loaded |\n";
      } else if (!m.train_seconds.empty()) {
        double t = 0;
        for (double s : m.train_seconds) t += s;
        md << " " << static_cast<int>(std::lround(t / static_cast<double>(m.train_seconds.size()))) << " |\n";
      } else {
        md << " |\n";
      }
    }
    md << "\n";
  }
  const auto goals = check_goals(r);
  md << "### Goals\n\n| goal | measured | |\n|---|---|---|\n";
  for (const auto& g : goals) md << "| " << g.goal << " | " << g.measured << " | " << (g.met ? "met" : "**missed**") << " |\n";
  md << "\n";
  if (!ctx.plot.empty()) md << "![accuracy against history length](" << ctx.plot << ")\n\n";
  return md.str();
}

LinePlot accuracy_plot(const EvalResult& r) {
  // One color per method, ICIIA's causal variants dashed in their full color.
  const std::map<std::string, std::pair<Rgb, bool>> style = {
      {"backbone", {{120, 120, 120}, false}}, {"oracle", {{20, 20, 20}, true}},
      {"oracle-views", {{20, 20, 20}, false}},
      {"ff", {{230, 140, 20}, false}},        {"B-full", {{31, 100, 200}, false}},
      {"B-causal", {{31, 100, 200}, true}},   {"T-full", {{40, 160, 70}, false}},
      {"T-causal", {{40, 160, 70}, true}},    {"em-ml", {{200, 40, 40}, false}},
      {"em-map", {{200, 40, 40}, true}},      {"t3a", {{150, 60, 170}, false}},
      {"lame", {{150, 60, 170}, true}},       {"B-full+prior", {{0, 170, 190}, false}},
      {"B-causal+prior", {{0, 170, 190}, true}}, {"em-map@gate", {{240, 120, 120}, true}},
      {"B-causal@gate", {{20, 40, 120}, false}}, {"B-causal+prior@gate", {{0, 110, 120}, false}},
  };
  LinePlot plot;
  for (int n : r.ns) plot.x_labels.push_back(std::to_string(n));
  plot.x_title = "history length n";
  plot.y_title = "accuracy";
  for (const auto& c : r.per_clients) {
    PlotPanel panel;
    panel.title = "clients " + c.clients;
    for (const auto& m : c.methods) {
      PlotSeries s;
      s.label = method_label(m.method);
      const auto it = style.find(m.method);
      if (it != style.end()) s.color = it->second.first, s.dashed = it->second.second;
      for (size_t i = 0; i < r.ns.size(); ++i) {
        const MeanStd ms = summarize(m, i);
        s.y.push_back(ms.mean);
        s.err.push_back(ms.std);
      }
      panel.series.push_back(std::move(s));
    }
    plot.panels.push_back(std::move(panel));
  }
  return plot;
}

}  // namespace iciia::train
