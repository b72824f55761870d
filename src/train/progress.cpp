#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace iciia::train {

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(std::max<int64_t>(total, 1)),
      tty_(isatty(fileno(stderr)) != 0), start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(int64_t n, double loss, double accuracy) {
  done_ = std::min(total_, done_ + n);
  if (loss >= 0) loss_ = loss;
  if (accuracy >= 0) accuracy_ = accuracy;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  // Off a terminal, update() already printed the line at 100%.
  if (!tty_ && done_ == total_ && last_decile_ == 10) return;
  draw(true);
}

void Progress::draw(bool final) {
  const auto now = std::chrono::steady_clock::now();
  const int decile = static_cast<int>(done_ * 10 / total_);
  if (!final) {
    if (tty_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
    if (!tty_ && decile == last_decile_) return;
  }
  last_draw_ = now;
  last_decile_ = decile;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? done_ / seconds : 0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(done_ * kWidth / total_);
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  char figures[96] = "";
  int len = 0;
  if (loss_ >= 0) len += std::snprintf(figures + len, sizeof(figures) - len, "  loss %.4f", loss_);
  if (accuracy_ >= 0)
    std::snprintf(figures + len, sizeof(figures) - len, "  acc %.2f%%", 100 * accuracy_);
  std::fprintf(stderr, "%s%s [%s] %lld/%lld %s  %.1f %s/s  %.0fs%s%s", tty_ ? "\r" : "",
               label_.c_str(), bar.c_str(), static_cast<long long>(done_),
               static_cast<long long>(total_), unit_.c_str(), rate, unit_.c_str(), seconds, figures,
               tty_ && !final ? "\033[K" : "\n");
  std::fflush(stderr);
}

}  // namespace iciia::train
