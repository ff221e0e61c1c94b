// Known-value and error checks for the PriorBox layer (no backward pass).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

struct Priors {
  std::vector<int> shape;
  std::vector<float> values;
  const float* cpu_data() const { return values.data(); }
};

// Runs PriorBox on a feature map and image of the given shapes.
Priors RunPriorBox(const std::string& params, std::vector<int> feature, std::vector<int> image) {
  Blob f(feature), img(image), y;
  auto layer = MakeLayer("name: 'pb' type: 'PriorBox' prior_box_param { " + params + " }");
  layer->SetUp({&f, &img}, {&y});
  layer->Forward({&f, &img}, {&y});
  return {y.shape(), std::vector<float>(y.cpu_data(), y.cpu_data() + y.count())};
}

std::vector<float> Slice(const Priors& p, int64_t from, int64_t n) {
  return std::vector<float>(p.values.begin() + from, p.values.begin() + from + n);
}

TEST(PriorBoxLayerTest, FirstCellInSsdOrder) {
  // 2x2 map over an 8x8 image: step 4, first centre (2, 2).
  Priors y =
      RunPriorBox("min_size: 2 max_size: 8 aspect_ratio: 2 flip: true", {1, 3, 2, 2}, {1, 3, 8, 8});
  // Per cell: min square, sqrt(2 * 8) = 4 square, ratio 2, ratio 1/2.
  ASSERT_EQ(y.shape, (std::vector<int>{1, 2, 2 * 2 * 4 * 4}));
  const float r = std::sqrt(2.f);
  const float w2 = 2 * r / 2, h2 = 2 / r / 2;  // half sizes of the ratio-2 box
  Blob first({16});                            // ExpectBlobNear compares against a Blob
  std::vector<float> expected = {1,      1,      3,      3,      0,      0,      4,      4,
                                 2 - w2, 2 - h2, 2 + w2, 2 + h2, 2 - h2, 2 - w2, 2 + h2, 2 + w2};
  for (float& v : expected) v /= 8;
  std::copy(y.cpu_data(), y.cpu_data() + 16, first.mutable_cpu_data());
  ExpectBlobNear(expected, first, 1e-6f);
  // Cell (0, 1) is the same boxes moved right by one step (4 / 8).
  for (int k = 0; k < 16; ++k) {
    EXPECT_NEAR(y.cpu_data()[16 + k], expected[k] + (k % 2 == 0 ? 0.5f : 0.f), 1e-6f) << k;
  }
  // Default variance 0.1 everywhere.
  for (int64_t k = 64; k < 128; ++k) EXPECT_FLOAT_EQ(y.cpu_data()[k], 0.1f) << k;
}

TEST(PriorBoxLayerTest, ExplicitImageStepOffsetClipAndVariances) {
  Priors y = RunPriorBox(
      "min_size: 30 clip: true img_h: 100 img_w: 200 step_h: 50 step_w: 100 offset: 0 "
      "variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2",
      {1, 1, 2, 2}, {1, 3, 7, 9});
  ASSERT_EQ(y.shape, (std::vector<int>{1, 2, 16}));
  // Cell (0, 0) is centred on the corner and clipped; cell (1, 1) at (100, 50).
  EXPECT_EQ(Slice(y, 0, 4), (std::vector<float>{0, 0, 15.f / 200, 15.f / 100}));
  const std::vector<float> last = Slice(y, 12, 4);
  const std::vector<float> want = {85.f / 200, 35.f / 100, 115.f / 200, 65.f / 100};
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(last[k], want[k], 1e-6f) << k;
  EXPECT_EQ(Slice(y, 16, 8), (std::vector<float>{0.1f, 0.1f, 0.2f, 0.2f, 0.1f, 0.1f, 0.2f, 0.2f}));
}

TEST(PriorBoxLayerTest, DuplicateRatiosAreMergedAndImgSizeIsUsed) {
  // Ratio 1 is always there; 1 and 1/1 add nothing, 3 adds 3 and 1/3.
  Priors y = RunPriorBox("min_size: 10 aspect_ratio: 1 aspect_ratio: 3 img_size: 40", {1, 1, 1, 1},
                         {1, 3, 5, 5});
  ASSERT_EQ(y.shape, (std::vector<int>{1, 2, 3 * 4}));
  // One cell, step 40, centre 20: the min square is [15, 25] / 40.
  EXPECT_EQ(Slice(y, 0, 4), (std::vector<float>{15.f / 40, 15.f / 40, 25.f / 40, 25.f / 40}));
}

TEST(PriorBoxLayerTest, BadParametersThrow) {
  Blob f({1, 1, 2, 2}), img({1, 3, 8, 8}), y;
  for (const char* params :
       {"", "min_size: 0", "min_size: 4 max_size: 2", "min_size: 2 min_size: 3 max_size: 5",
        "min_size: 2 variance: 0.1 variance: 0.2", "min_size: 2 aspect_ratio: -1",
        "min_size: 2 step: 4 step_h: 4", "min_size: 2 img_size: 8 img_w: 8"}) {
    auto layer =
        MakeLayer(std::string("name: 'pb' type: 'PriorBox' prior_box_param { ") + params + " }");
    EXPECT_THROW(layer->SetUp({&f, &img}, {&y}), Error) << params;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
