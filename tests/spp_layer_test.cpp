// Table rows for the SPP layer: on sizes the bins divide evenly, a naive
// block max/mean per bin; on other sizes, max over Caffe's padded bins.
#include <algorithm>
#include <cfloat>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Distinct values keep max pooling away from ties (kinks) in the gradient check.
void FillDistinctValues(const BlobVec& bottom) {
  std::vector<int> order(bottom[0]->count());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(23));
  for (size_t i = 0; i < order.size(); ++i) bottom[0]->mutable_cpu_data()[i] = 0.05f * order[i] - 2;
}

std::function<void(Layer*, const BlobVec&, const BlobVec&)> EvenSppReference(int levels,
                                                                               bool max) {
  return [levels, max](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    const int num = in.shape(0), channels = in.shape(1), height = in.shape(2),
              width = in.shape(3);
    std::vector<float> expected;
    for (int n = 0; n < num; ++n) {
      for (int l = 0; l < levels; ++l) {
        const int bins = 1 << l, bh = height / bins, bw = width / bins;
        for (int c = 0; c < channels; ++c) {
          for (int i = 0; i < bins; ++i) {
            for (int j = 0; j < bins; ++j) {
              float best = -FLT_MAX, sum = 0;
              for (int h = i * bh; h < (i + 1) * bh; ++h) {
                for (int w = j * bw; w < (j + 1) * bw; ++w) {
                  const float v = in.cpu_data()[((n * channels + c) * height + h) * width + w];
                  best = std::max(best, v);
                  sum += v;
                }
              }
              expected.push_back(max ? best : sum / (bh * bw));
            }
          }
        }
      }
    }
    ASSERT_EQ(top[0]->shape(), (std::vector<int>{num, static_cast<int>(expected.size()) / num}));
    ExpectBlobNear(expected, *top[0], 1e-5f);
  };
}

// Max SPP on any size: level l has 2^l bins per side, each a window of
// ceil(size / bins) rows or columns, with the remainder split as padding
// (half before, rounded up), so the windows tile the input and a bin
// overlapping the padding sees only the input part.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> MaxSppReference(int levels) {
  return [levels](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    const int num = in.shape(0), channels = in.shape(1), height = in.shape(2),
              width = in.shape(3);
    std::vector<float> expected;
    for (int n = 0; n < num; ++n) {
      for (int l = 0; l < levels; ++l) {
        const int bins = 1 << l;
        const int kh = (height + bins - 1) / bins, kw = (width + bins - 1) / bins;
        const int pad_h = (kh * bins - height + 1) / 2, pad_w = (kw * bins - width + 1) / 2;
        for (int c = 0; c < channels; ++c) {
          for (int i = 0; i < bins; ++i) {
            for (int j = 0; j < bins; ++j) {
              float best = -FLT_MAX;
              for (int h = std::max(0, i * kh - pad_h); h < std::min(height, (i + 1) * kh - pad_h);
                   ++h) {
                for (int w = std::max(0, j * kw - pad_w);
                     w < std::min(width, (j + 1) * kw - pad_w); ++w) {
                  best = std::max(best, in.cpu_data()[((n * channels + c) * height + h) * width + w]);
                }
              }
              expected.push_back(best);
            }
          }
        }
      }
    }
    ASSERT_EQ(top[0]->shape(), (std::vector<int>{num, static_cast<int>(expected.size()) / num}));
    ExpectBlobNear(expected, *top[0], 0.f);
  };
}

std::vector<LayerCase> SppCases() {
  std::vector<LayerCase> cases;
  {
    LayerCase c;
    c.name = "MaxEvenThreeLevels";
    c.prototxt = "name: 'spp' type: 'SPP' spp_param { pyramid_height: 3 pool: MAX }";
    c.bottom_shapes = {{2, 3, 8, 8}};
    c.fill = FillDistinctValues;
    c.reference = EvenSppReference(3, true);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "AveEvenTwoLevels";
    c.prototxt = "name: 'spp' type: 'SPP' spp_param { pyramid_height: 2 pool: AVE }";
    c.bottom_shapes = {{2, 2, 4, 6}};
    c.reference = EvenSppReference(2, false);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "MaxUnevenSize";
    c.prototxt = "name: 'spp' type: 'SPP' spp_param { pyramid_height: 3 }";
    c.bottom_shapes = {{1, 2, 7, 6}};
    c.fill = FillDistinctValues;
    // 1 + 4 + 16 bins per channel, all 42 outputs checked; 7 rows in 4 bins
    // of 2 pad the first bin, 6 columns in 4 bins the first and the last.
    c.reference = MaxSppReference(3);
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Spp, LayerCaseTest, ::testing::ValuesIn(SppCases()), LayerCaseName);

TEST(SppLayerTest, OutputLengthIsIndependentOfInputSize) {
  auto layer = MakeLayer("name: 'spp' type: 'SPP' spp_param { pyramid_height: 2 }");
  Blob small({1, 4, 6, 6}), large({1, 4, 13, 9}), out;
  FillGaussian(&small, 0, 1, 1);
  FillGaussian(&large, 0, 1, 2);
  layer->SetUp({&small}, {&out});
  layer->Forward({&small}, {&out});
  EXPECT_EQ(out.shape(), (std::vector<int>{1, 20}));
  layer->Forward({&large}, {&out});  // Forward reshapes for the new size
  EXPECT_EQ(out.shape(), (std::vector<int>{1, 20}));
}

TEST(SppLayerTest, MissingPyramidHeightThrows) {
  Blob in({1, 1, 4, 4}), out;
  EXPECT_THROW(MakeLayer("name: 'spp' type: 'SPP'")->SetUp({&in}, {&out}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
