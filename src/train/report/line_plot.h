// A small line chart rasterised into an RGB image (labels drawn with Debian's
// stb_easy_font; data::write_png writes it), so the evaluation's figures need
// no plotting stack. Panels share the x axis labels
// and one legend below them; each panel scales its own y axis.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "train/data/dataset.h"

namespace iciia::train {

using Rgb = std::array<uint8_t, 3>;

struct PlotSeries {
  std::string label;
  Rgb color{0, 0, 0};
  bool dashed = false;
  std::vector<double> y;    // one value per x position
  std::vector<double> err;  // optional: +- bars, same length as y
};

struct PlotPanel {
  std::string title;
  std::vector<PlotSeries> series;
};

struct LinePlot {
  std::vector<std::string> x_labels;  // evenly spaced categories (e.g. 0 1 2 4 ... 64)
  std::string x_title, y_title;
  bool y_percent = true;  // values in [0, 1] shown as percent
  std::vector<PlotPanel> panels;
  int panel_width = 420, panel_height = 330;
};

// An RGB image; throws kInvalidArgument if a series' length differs from
// the x labels.
data::Image render_line_plot(const LinePlot& plot);

}  // namespace iciia::train
