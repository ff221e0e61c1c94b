// Table rows and error checks for the LRN layer.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

struct LrnSpec {
  bool across = true;
  int size = 5;
  float alpha = 1, beta = 0.75f, k = 1;
};

// Naive LRN straight from the formulas: across channels the squares of the
// `size` neighbouring channels are summed and scaled by alpha / size (plus
// k); within a channel they are averaged over a size x size window of the
// zero-padded plane and scaled by alpha (plus 1, as Caffe fixes it).
std::vector<float> NaiveLrn(const Blob& bottom, const LrnSpec& s) {
  const int num = bottom.shape(0), channels = bottom.shape(1);
  const int height = bottom.shape(2), width = bottom.shape(3);
  const int half = (s.size - 1) / 2;
  const float* x = bottom.cpu_data();
  auto at = [&](int n, int c, int h, int w) {
    return x[((int64_t(n) * channels + c) * height + h) * width + w];
  };
  std::vector<float> y;
  for (int n = 0; n < num; ++n) {
    for (int c = 0; c < channels; ++c) {
      for (int h = 0; h < height; ++h) {
        for (int w = 0; w < width; ++w) {
          double scale;
          if (s.across) {
            double sum = 0;
            for (int cc = c - half; cc <= c + half; ++cc) {
              if (cc >= 0 && cc < channels) sum += at(n, cc, h, w) * at(n, cc, h, w);
            }
            scale = s.k + s.alpha / s.size * sum;
          } else {
            double sum = 0;
            for (int hh = h - half; hh <= h + half; ++hh) {
              for (int ww = w - half; ww <= w + half; ++ww) {
                if (hh >= 0 && hh < height && ww >= 0 && ww < width) {
                  sum += at(n, c, hh, ww) * at(n, c, hh, ww);
                }
              }
            }
            scale = 1 + s.alpha * sum / (s.size * s.size);
          }
          y.push_back(static_cast<float>(at(n, c, h, w) * std::pow(scale, -s.beta)));
        }
      }
    }
  }
  return y;
}

LayerCase LrnCase(const std::string& name, const std::string& params, const LrnSpec& s,
                  std::vector<int> shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'norm' type: 'LRN' lrn_param { " + params + " }";
  c.bottom_shapes = {std::move(shape)};
  c.reference = [s](Layer*, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
    ExpectBlobNear(NaiveLrn(*bottom[0], s), *top[0], 1e-5f);
  };
  return c;
}

std::vector<LayerCase> LrnCases() {
  std::vector<LayerCase> cases;
  cases.push_back(LrnCase("AcrossDefaults", "", LrnSpec{}, {2, 7, 3, 3}));
  cases.push_back(LrnCase("AcrossSize3", "local_size: 3 alpha: 0.5 beta: 0.6 k: 2",
                          LrnSpec{true, 3, 0.5f, 0.6f, 2.f}, {2, 4, 2, 3}));
  // More neighbours than channels: every window is clipped.
  cases.push_back(LrnCase("AcrossWindowWiderThanChannels", "local_size: 7 alpha: 2",
                          LrnSpec{true, 7, 2.f, 0.75f, 1.f}, {2, 3, 2, 2}));
  cases.push_back(LrnCase("WithinChannel", "norm_region: WITHIN_CHANNEL local_size: 3",
                          LrnSpec{false, 3}, {2, 2, 5, 5}));
  // k is ignored within a channel (Caffe's power layer shifts by 1).
  cases.push_back(LrnCase("WithinChannelSize5IgnoresK",
                          "norm_region: WITHIN_CHANNEL local_size: 5 alpha: 3 beta: 0.5 k: 7",
                          LrnSpec{false, 5, 3.f, 0.5f, 1.f}, {2, 2, 4, 6}));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Lrn, LayerCaseTest, ::testing::ValuesIn(LrnCases()), LayerCaseName);

TEST(LrnErrors, EvenLocalSize) {
  auto layer = MakeLayer("name: 'n' type: 'LRN' lrn_param { local_size: 4 }");
  ASSERT_NE(layer, nullptr);
  Blob bottom(std::vector<int>{1, 4, 2, 2}), top;
  try {
    layer->SetUp({&bottom}, {&top});
    FAIL() << "even local_size accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("local_size"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
