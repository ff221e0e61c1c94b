// Times the host im2col and col2im (src/util/im2col.cpp) on one image of
// the shapes that matter for them: LeNet's two convolutions, where
// unfolding is a large share of a training pass, and two ResNet-50
// layers with padding and stride. One thread; each figure is the fastest
// of 40 runs of 200 calls, in microseconds per image.
//
//   build/unfold_bench
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "cortado/im2col.hpp"

namespace {

using cortado::ConvGeometry;

ConvGeometry Geometry(int channels, int size, int kernel, int pad, int stride) {
  ConvGeometry g;
  g.channels = channels;
  g.height = g.width = size;
  g.kernel_h = g.kernel_w = kernel;
  g.pad_h = g.pad_w = pad;
  g.stride_h = g.stride_w = stride;
  return g;
}

template <typename Call>
double FastestMicroseconds(Call call) {
  constexpr int kRuns = 40, kCalls = 200;
  double best = 1e30;
  for (int run = 0; run < kRuns; ++run) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) call();
    const std::chrono::duration<double, std::micro> took =
        std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count() / kCalls);
  }
  return best;
}

}  // namespace

int main() {
  struct Case {
    const char* name;
    ConvGeometry geometry;
  };
  const Case cases[] = {
      {"LeNet conv1 (1x28x28, 5x5)", Geometry(1, 28, 5, 0, 1)},
      {"LeNet conv2 (20x12x12, 5x5)", Geometry(20, 12, 5, 0, 1)},
      {"ResNet-50 3x3 (64x56x56, pad 1)", Geometry(64, 56, 3, 1, 1)},
      {"ResNet-50 conv1 (3x224x224, 7x7/2, pad 3)", Geometry(3, 224, 7, 3, 2)},
  };
  std::printf("| layer | im2col us | col2im us |\n|---|---:|---:|\n");
  for (const Case& c : cases) {
    const ConvGeometry& g = c.geometry;
    const int64_t positions = int64_t(g.output_h()) * g.output_w();
    std::vector<float> image(size_t(g.channels) * g.height * g.width, 1.f);
    std::vector<float> columns(size_t(g.channels) * g.kernel_h * g.kernel_w * positions, 0.5f);
    const double unfold = FastestMicroseconds(
        [&] { cortado::Im2col(image.data(), g, positions, columns.data()); });
    const double fold = FastestMicroseconds(
        [&] { cortado::Col2im(columns.data(), g, positions, image.data()); });
    std::printf("| %s | %.2f | %.2f |\n", c.name, unfold, fold);
  }
  return 0;
}
