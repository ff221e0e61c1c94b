// The depthwise fast path of Convolution (group == channels == num_output)
// against the general grouped GEMM path on the same filters.
#include <cctype>
#include <string>
#include <vector>

#include "cortado/math.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// A depthwise layer and a general one with two filters per channel (a
// channel multiplier of 2, which the fast path does not take) whose even
// filters are the depthwise ones: even output channels must agree, and with
// zero gradient on the odd ones, so must every gradient.
// The 3x3 windows of stride 1 and 2 take register kernels over a padded
// plane (the stride-1 input gradient as a turned-window correlation, for
// padding up to 2); the rest take the per-tap loops.
class DepthwiseConvolutionTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DepthwiseConvolutionTest, MatchesGeneralPath) {
  const int channels = 5;
  const std::string geometry = " " + GetParam() + " group: 5 ";
  auto depthwise = MakeLayer(
      "name: 'dw' type: 'Convolution' convolution_param { num_output: 5" + geometry +
      "weight_filler { type: 'gaussian' std: 0.5 } bias_filler { type: 'gaussian' std: 0.5 } }");
  auto general = MakeLayer("name: 'g' type: 'Convolution' convolution_param { num_output: 10" +
                           geometry + "}");
  Blob x({3, channels, 9, 8}), y_dw, y_general;
  FillGaussian(&x, 0, 1, 5);
  depthwise->SetUp({&x}, {&y_dw});
  general->SetUp({&x}, {&y_general});
  const int taps = depthwise->blobs()[0]->count(1);
  const float* w = depthwise->blobs()[0]->cpu_data();
  const float* bias = depthwise->blobs()[1]->cpu_data();
  float* gw = general->blobs()[0]->mutable_cpu_data();
  float* gb = general->blobs()[1]->mutable_cpu_data();
  for (int c = 0; c < channels; ++c) {
    for (int t = 0; t < taps; ++t) {
      gw[(2 * c) * taps + t] = w[c * taps + t];
      gw[(2 * c + 1) * taps + t] = 0.25f * t - 1;
    }
    gb[2 * c] = bias[c];
    gb[2 * c + 1] = 0.5f;
  }
  depthwise->Forward({&x}, {&y_dw});
  general->Forward({&x}, {&y_general});
  const int64_t plane = y_dw.count(2);
  ASSERT_EQ(y_general.count(2), plane);
  std::vector<float> even;
  for (int n = 0; n < 3; ++n) {
    for (int c = 0; c < channels; ++c) {
      const float* from = y_general.cpu_data() + (int64_t(n) * 2 * channels + 2 * c) * plane;
      even.insert(even.end(), from, from + plane);
    }
  }
  ExpectBlobNear(even, y_dw, 1e-5f);

  // Backward: the same top gradient on even channels, zero on odd ones.
  FillGaussian(&y_dw, 0, 1, 9);
  for (int64_t i = 0; i < y_dw.count(); ++i) y_dw.mutable_cpu_diff()[i] = y_dw.cpu_data()[i];
  Set(y_general.count(), 0.f, y_general.mutable_cpu_diff());
  for (int n = 0; n < 3; ++n) {
    for (int c = 0; c < channels; ++c) {
      Copy(plane, y_dw.cpu_diff() + (int64_t(n) * channels + c) * plane,
           y_general.mutable_cpu_diff() + (int64_t(n) * 2 * channels + 2 * c) * plane);
    }
  }
  for (Layer* layer : {depthwise.get(), general.get()}) {
    for (auto& blob : layer->blobs()) Set(blob->count(), 0.f, blob->mutable_cpu_diff());
  }
  depthwise->Backward({&y_dw}, {true}, {&x});
  const std::vector<float> dx_dw(x.cpu_diff(), x.cpu_diff() + x.count());
  general->Backward({&y_general}, {true}, {&x});
  for (int64_t i = 0; i < x.count(); ++i) {
    EXPECT_NEAR(dx_dw[i], x.cpu_diff()[i], 1e-4f) << "bottom diff " << i;
  }
  const float* dw = depthwise->blobs()[0]->cpu_diff();
  const float* gdw = general->blobs()[0]->cpu_diff();
  for (int c = 0; c < channels; ++c) {
    for (int t = 0; t < taps; ++t) {
      EXPECT_NEAR(dw[c * taps + t], gdw[(2 * c) * taps + t], 1e-3f) << "weight " << c << "," << t;
    }
    EXPECT_NEAR(depthwise->blobs()[1]->cpu_diff()[c], general->blobs()[1]->cpu_diff()[2 * c], 1e-3f)
        << "bias " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Windows, DepthwiseConvolutionTest,
    ::testing::Values("kernel_size: 3 stride: 2 pad: 1", "kernel_size: 3 stride: 2 pad: 0",
                      "kernel_size: 3 stride: 1 pad: 1", "kernel_size: 3 stride: 1 pad: 0",
                      "kernel_size: 3 stride: 1 pad: 2", "kernel_size: 3 stride: 1 pad: 3",
                      "kernel_size: 3 stride: 1 pad: 1 dilation: 2",
                      "kernel_size: 5 stride: 1 pad: 2",
                      "kernel_h: 3 kernel_w: 3 stride_h: 1 stride_w: 2 pad: 1"),
    [](const ::testing::TestParamInfo<std::string>& info) {
      std::string name;
      for (char ch : info.param) {
        if (std::isalnum(static_cast<unsigned char>(ch))) name += ch;
      }
      return name;
    });

}  // namespace
}  // namespace testing
}  // namespace cortado
