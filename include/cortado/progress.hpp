// Training progress for a person at a terminal: one status line (iteration,
// smoothed loss, learning rate, speed, time left) rewritten in place.
#ifndef CORTADO_PROGRESS_HPP_
#define CORTADO_PROGRESS_HPP_

#include <cstdio>
#include <string>

namespace cortado {

struct TrainingProgress {
  int iter = 0;
  int max_iter = 0;
  float loss = 0;               // smoothed over average_loss iterations
  float lr = 0;
  double iters_per_second = 0;  // 0 while unknown
};

// "Iteration 1200/10000  loss 0.3412  lr 0.00912  153.2 it/s  ETA 0:57";
// the speed and ETA are left out while the speed is unknown.
std::string FormatProgress(const TrainingProgress& progress);
// Seconds as "M:SS" or "H:MM:SS".
std::string FormatDuration(double seconds);

// Rewrites one line of `out` in place. Break() ends it, so log output that
// follows starts on a fresh line and the status is kept on screen above it.
class ProgressLine {
 public:
  explicit ProgressLine(std::FILE* out) : out_(out) {}
  ~ProgressLine() { Break(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void Show(const std::string& text);
  void Break();

 private:
  std::FILE* out_;
  bool open_ = false;
};

}  // namespace cortado

#endif  // CORTADO_PROGRESS_HPP_
