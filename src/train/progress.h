// A one-line progress bar for long training steps: position, rate, and the
// running figures the caller reports (loss, accuracy). Redraws at most a few
// times per second on a terminal; when stderr is not a terminal (CI, logs) it
// prints a plain line every ~10% instead, so logs stay short.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace iciia::train {

class Progress {
 public:
  // `unit` names what is counted ("img", "seq", "batch").
  Progress(std::string label, int64_t total, std::string unit = "it");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Advances by `n` and sets the figures shown after the rate. Negative
  // loss/accuracy are not shown.
  void update(int64_t n, double loss = -1, double accuracy = -1);
  // Prints the final line (also done by the destructor).
  void finish();

 private:
  void draw(bool final);

  std::string label_, unit_;
  int64_t total_, done_ = 0;
  double loss_ = -1, accuracy_ = -1;
  bool tty_, finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace iciia::train
