// The in-place terminal status line used while training.
#include "cortado/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cortado/common.hpp"

namespace cortado {

std::string FormatDuration(double seconds) {
  const long total = std::lround(std::max(0.0, seconds));
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof(text), "%ld:%02ld:%02ld", total / 3600, total / 60 % 60,
                  total % 60);
  } else {
    std::snprintf(text, sizeof(text), "%ld:%02ld", total / 60, total % 60);
  }
  return text;
}

std::string FormatProgress(const TrainingProgress& p) {
  char text[160];
  int n = std::snprintf(text, sizeof(text), "Iteration %d/%d  loss %.4g  lr %.4g", p.iter,
                        p.max_iter, p.loss, p.lr);
  if (p.iters_per_second > 0 && n > 0 && n < static_cast<int>(sizeof(text))) {
    const double left = (p.max_iter - p.iter) / p.iters_per_second;
    std::snprintf(text + n, sizeof(text) - n, "  %.1f it/s  ETA %s", p.iters_per_second,
                  FormatDuration(left).c_str());
  }
  return text;
}

void ProgressLine::Show(const std::string& text) {
  // Carriage return, the text, then erase whatever a longer line left behind.
  std::fprintf(out_, "\r%s\033[K", text.c_str());
  std::fflush(out_);
  open_ = true;
}

void ProgressLine::Break() {
  if (!open_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  open_ = false;
}

}  // namespace cortado
