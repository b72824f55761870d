#include "train/report/line_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "util/error.h"

// Header-only, all static functions: private to this file.
#include <stb/stb_easy_font.h>

namespace iciia::train {

namespace {

constexpr Rgb kBlack{0, 0, 0}, kGrid{225, 225, 225}, kAxis{90, 90, 90};
constexpr float kTextScale = 2.f;  // stb_easy_font glyphs are ~7 px tall

// stb_easy_font builds glyphs from axis-aligned quads (4 vertices of x, y, z
// floats and 4 color bytes): their rectangles x0, y0, x1, y1 at scale 1.
std::vector<std::array<float, 4>> glyph_rects(const std::string& s) {
  std::vector<char> str(s.begin(), s.end());
  str.push_back('\0');
  std::vector<char> quads(str.size() * 300 + 64);  // the header's estimate: ~270 bytes per character
  const int n = stb_easy_font_print(0, 0, str.data(), nullptr, quads.data(), static_cast<int>(quads.size()));
  std::vector<std::array<float, 4>> rects;
  for (int q = 0; q < n; ++q) {
    const float* v0 = reinterpret_cast<const float*>(quads.data() + q * 64);
    const float* v2 = reinterpret_cast<const float*>(quads.data() + q * 64 + 32);
    rects.push_back({v0[0], v0[1], v2[0], v2[1]});
  }
  return rects;
}

class Canvas {
 public:
  Canvas(int w, int h) : img_{w, h, 3, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3, 255)} {}

  void set(int x, int y, const Rgb& c) {
    if (x < 0 || y < 0 || x >= img_.width || y >= img_.height) return;
    uint8_t* p = &img_.pixels[(static_cast<size_t>(y) * img_.width + x) * 3];
    p[0] = c[0], p[1] = c[1], p[2] = c[2];
  }
  void fill(int x0, int y0, int x1, int y1, const Rgb& c) {
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) set(x, y, c);
  }
  void disc(double cx, double cy, double r, const Rgb& c) {
    for (int y = static_cast<int>(std::floor(cy - r)); y <= static_cast<int>(std::ceil(cy + r)); ++y)
      for (int x = static_cast<int>(std::floor(cx - r)); x <= static_cast<int>(std::ceil(cx + r)); ++x)
        if ((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy) <= r * r) set(x, y, c);
  }
  // Stamps discs along the segment; a dashed line leaves gaps by arc length.
  void line(double x0, double y0, double x1, double y1, double width, const Rgb& c, bool dashed = false,
            double* dash_phase = nullptr) {
    const double len = std::hypot(x1 - x0, y1 - y0);
    const int steps = std::max(1, static_cast<int>(len * 4));
    for (int i = 0; i <= steps; ++i) {
      const double t = static_cast<double>(i) / steps;
      const double along = (dash_phase ? *dash_phase : 0) + t * len;
      if (dashed && std::fmod(along, 14.0) > 8.0) continue;
      disc(x0 + t * (x1 - x0), y0 + t * (y1 - y0), width / 2, c);
    }
    if (dash_phase) *dash_phase += len;
  }
  void text(double x, double y, const std::string& s, const Rgb& c, float scale = kTextScale) {
    for (const auto& r : glyph_rects(s))
      fill(static_cast<int>(std::lround(x + r[0] * scale)), static_cast<int>(std::lround(y + r[1] * scale)),
           static_cast<int>(std::lround(x + r[2] * scale)), static_cast<int>(std::lround(y + r[3] * scale)), c);
  }
  // The right edge of the drawn glyphs (stb_easy_font_width() runs short on
  // some, e.g. parentheses).
  static double text_width(const std::string& s, float scale = kTextScale) {
    float right = 0;
    for (const auto& r : glyph_rects(s)) right = std::max(right, r[2]);
    return right * scale;
  }
  data::Image take() { return std::move(img_); }

 private:
  data::Image img_;
};

struct Range {
  double lo, hi, step;
};

// Axis bounds on multiples of a 1-2-5 step giving about six ticks.
Range nice_range(double lo, double hi, bool clamp_unit) {
  if (hi - lo < 1e-9) lo -= 0.01, hi += 0.01;
  const double raw = (hi - lo) / 6, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  Range r{std::floor(lo / step + 1e-9) * step, std::ceil(hi / step - 1e-9) * step, step};
  if (clamp_unit) r.lo = std::max(r.lo, 0.0), r.hi = std::min(r.hi, 1.0);
  return r;
}

std::string tick_label(double v, double step, bool percent) {
  const double scale = percent ? 100 : 1;
  const double s = step * scale;
  const int decimals = s >= 1 ? 0 : s >= 0.1 ? 1 : 2;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f%s", decimals, v * scale, percent ? "%" : "");
  return buf;
}

}  // namespace

data::Image render_line_plot(const LinePlot& plot) {
  const int N = static_cast<int>(plot.x_labels.size());
  if (N < 2) throw Error(ErrorCode::kInvalidArgument, "line plot: needs at least two x positions");
  std::vector<const PlotSeries*> legend;
  for (const auto& panel : plot.panels)
    for (const auto& s : panel.series) {
      if (static_cast<int>(s.y.size()) != N || (!s.err.empty() && s.err.size() != s.y.size()))
        throw Error(ErrorCode::kInvalidArgument, "line plot: series '" + s.label + "' has " +
                                                     std::to_string(s.y.size()) + " values for " +
                                                     std::to_string(N) + " x positions");
      if (std::none_of(legend.begin(), legend.end(), [&](const PlotSeries* l) { return l->label == s.label; }))
        legend.push_back(&s);
    }

  // Legend below the panels: entries flow left to right, wrapping.
  const int PW = plot.panel_width, PH = plot.panel_height;
  const int width = PW * std::max<int>(1, static_cast<int>(plot.panels.size()));
  double entry_w = 0;
  for (const auto* s : legend) entry_w = std::max(entry_w, Canvas::text_width(s->label) + 48);
  const int per_row = std::max(1, static_cast<int>((width - 20) / std::max(entry_w, 1.0)));
  const int legend_rows = (static_cast<int>(legend.size()) + per_row - 1) / per_row;
  Canvas cv(width, PH + legend_rows * 24 + 12);

  for (size_t pi = 0; pi < plot.panels.size(); ++pi) {
    const PlotPanel& panel = plot.panels[pi];
    const double x0 = PW * static_cast<double>(pi);
    const double left = x0 + 78, right = x0 + PW - 16, top = 60, bottom = PH - 52;
    double lo = 1e300, hi = -1e300;
    for (const auto& s : panel.series)
      for (size_t i = 0; i < s.y.size(); ++i) {
        const double e = s.err.empty() ? 0 : s.err[i];
        lo = std::min(lo, s.y[i] - e), hi = std::max(hi, s.y[i] + e);
      }
    if (panel.series.empty()) lo = 0, hi = 1;
    const Range r = nice_range(lo, hi, plot.y_percent);
    auto X = [&](double i) { return left + 10 + i * (right - left - 20) / (N - 1); };
    auto Y = [&](double v) { return bottom - (v - r.lo) / (r.hi - r.lo) * (bottom - top); };

    cv.text(x0 + (PW - Canvas::text_width(panel.title)) / 2, 8, panel.title, kBlack);
    cv.text(left - 70, 32, plot.y_title, kAxis);
    for (double v = r.lo; v <= r.hi + r.step * 1e-6; v += r.step) {
      const double y = Y(v);
      cv.line(left, y, right, y, 1, kGrid);
      const std::string lbl = tick_label(v, r.step, plot.y_percent);
      cv.text(left - 8 - Canvas::text_width(lbl), y - 6, lbl, kAxis);
    }
    for (int i = 0; i < N; ++i) {
      cv.line(X(i), bottom, X(i), bottom + 5, 1, kAxis);
      cv.text(X(i) - Canvas::text_width(plot.x_labels[static_cast<size_t>(i)]) / 2, bottom + 9,
              plot.x_labels[static_cast<size_t>(i)], kAxis);
    }
    cv.text((left + right - Canvas::text_width(plot.x_title)) / 2, bottom + 30, plot.x_title, kAxis);
    cv.line(left, top, left, bottom, 1.5, kAxis);
    cv.line(left, bottom, right, bottom, 1.5, kAxis);

    for (const auto& s : panel.series) {
      double phase = 0;
      for (int i = 0; i + 1 < N; ++i) cv.line(X(i), Y(s.y[static_cast<size_t>(i)]), X(i + 1), Y(s.y[static_cast<size_t>(i + 1)]), 2.5, s.color, s.dashed, &phase);
      for (int i = 0; i < N; ++i) {
        const double y = Y(s.y[static_cast<size_t>(i)]);
        if (!s.err.empty() && s.err[static_cast<size_t>(i)] > 0) {
          const double e = s.err[static_cast<size_t>(i)];
          cv.line(X(i), Y(s.y[static_cast<size_t>(i)] - e), X(i), Y(s.y[static_cast<size_t>(i)] + e), 1.2, s.color);
        }
        cv.fill(static_cast<int>(X(i)) - 3, static_cast<int>(y) - 3, static_cast<int>(X(i)) + 4, static_cast<int>(y) + 4, s.color);
      }
    }
  }

  for (size_t i = 0; i < legend.size(); ++i) {
    const double x = 20 + entry_w * static_cast<double>(i % per_row);
    const double y = PH + 4 + 24.0 * static_cast<double>(i / per_row);
    cv.line(x, y + 7, x + 30, y + 7, 2.5, legend[i]->color, legend[i]->dashed);
    cv.text(x + 38, y, legend[i]->label, kBlack);
  }
  return cv.take();
}

}  // namespace iciia::train
