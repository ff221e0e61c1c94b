// Table rows and error checks for the Upsample layer (nearest and SegNet
// mask unpooling).
#include <algorithm>
#include <string>
#include <vector>

#include "cortado/math.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

LayerCase NearestCase(const std::string& name, const std::string& params, std::vector<int> shape,
                      int out_h, int out_w, int scale_h, int scale_w) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'up' type: 'Upsample' upsample_param { " + params + " }";
  c.bottom_shapes = {shape};
  c.reference = [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    ASSERT_EQ((std::vector<int>{in.shape(0), in.shape(1), out_h, out_w}), top[0]->shape());
    std::vector<float> expected;
    for (int64_t p = 0; p < in.count(0, 2); ++p) {
      for (int h = 0; h < out_h; ++h) {
        for (int w = 0; w < out_w; ++w) {
          const int sh = std::min(h / scale_h, in.shape(2) - 1);
          const int sw = std::min(w / scale_w, in.shape(3) - 1);
          expected.push_back(in.cpu_data()[(p * in.shape(2) + sh) * in.shape(3) + sw]);
        }
      }
    }
    ExpectBlobNear(expected, *top[0], 0);
  };
  return c;
}

// A mask as 2x2 max pooling would write: one position per window.
void FillPoolingMask(Blob* mask, int out_w) {
  const int h = mask->shape(2), w = mask->shape(3);
  float* m = mask->mutable_cpu_data();
  for (int64_t p = 0; p < mask->count(0, 2); ++p) {
    for (int i = 0; i < h; ++i) {
      for (int j = 0; j < w; ++j) {
        const int dy = (i + j + static_cast<int>(p)) % 2, dx = (i * 3 + j + 1) % 2;
        m[(p * h + i) * w + j] = static_cast<float>((2 * i + dy) * out_w + 2 * j + dx);
      }
    }
  }
}

LayerCase MaskCase(const std::string& name, const std::string& params, std::vector<int> shape,
                   int out_h, int out_w) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'up' type: 'Upsample' upsample_param { " + params + " }";
  c.bottom_shapes = {shape, shape};
  c.fill = [out_w](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 1, 7);
    FillPoolingMask(bottom[1], out_w);
  };
  c.reference = [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    ASSERT_EQ((std::vector<int>{in.shape(0), in.shape(1), out_h, out_w}), top[0]->shape());
    const int64_t in_plane = in.count(2), out_plane = int64_t{out_h} * out_w;
    std::vector<float> expected(top[0]->count(), 0.f);
    for (int64_t p = 0; p < in.count(0, 2); ++p) {
      for (int64_t i = 0; i < in_plane; ++i) {
        const int64_t at = static_cast<int64_t>(bottom[1]->cpu_data()[p * in_plane + i]);
        expected[p * out_plane + at] = in.cpu_data()[p * in_plane + i];
      }
    }
    ExpectBlobNear(expected, *top[0], 0);
  };
  c.bottoms_to_check = {0};
  return c;
}

std::vector<LayerCase> UpsampleCases() {
  return {
      NearestCase("NearestScale2", "scale: 2", {2, 3, 2, 3}, 4, 6, 2, 2),
      NearestCase("NearestScaleHW", "scale_h: 2 scale_w: 3", {1, 2, 3, 2}, 6, 6, 2, 3),
      NearestCase("NearestExplicitSize", "scale: 2 upsample_h: 5 upsample_w: 3", {1, 2, 3, 2}, 5, 3,
                  2, 2),
      // The last input row is cut off (no output repeats it: zero gradient);
      // the last column also takes the clamped tail.
      NearestCase("NearestExplicitCutAndTail", "scale: 2 upsample_h: 3 upsample_w: 7",
                  {2, 2, 3, 3}, 3, 7, 2, 2),
      MaskCase("SegNetMask", "scale: 2", {2, 3, 2, 3}, 4, 6),
      MaskCase("SegNetMaskExplicitSize", "scale: 2 upsample_h: 4 upsample_w: 5", {1, 2, 2, 2}, 4,
               5),
  };
}

INSTANTIATE_TEST_SUITE_P(Upsample, LayerCaseTest, ::testing::ValuesIn(UpsampleCases()),
                         LayerCaseName);

TEST(UpsampleLayerTest, MaskOutOfRangeThrows) {
  Blob x({1, 1, 2, 2}), mask({1, 1, 2, 2}), y;
  Set(x.count(), 1.f, x.mutable_cpu_data());
  Set(mask.count(), 16.f, mask.mutable_cpu_data());  // the 4x4 plane ends at 15
  auto layer = MakeLayer("name: 'u' type: 'Upsample' upsample_param { scale: 2 }");
  layer->SetUp({&x, &mask}, {&y});
  EXPECT_THROW(layer->Forward({&x, &mask}, {&y}), Error);
}

TEST(UpsampleLayerTest, BadParametersThrow) {
  Blob x({1, 2, 2, 2}), y;
  for (const char* params : {"scale: 0", "upsample_h: 4"}) {
    auto layer =
        MakeLayer(std::string("name: 'u' type: 'Upsample' upsample_param { ") + params + " }");
    EXPECT_THROW(layer->SetUp({&x}, {&y}), Error) << params;
  }
  Blob flat({2, 3}), mask_wrong({1, 2, 2, 3});
  auto layer = MakeLayer("name: 'u' type: 'Upsample' upsample_param { scale: 2 }");
  EXPECT_THROW(layer->SetUp({&flat}, {&y}), Error);
  auto masked = MakeLayer("name: 'u' type: 'Upsample' upsample_param { scale: 2 }");
  EXPECT_THROW(masked->SetUp({&x, &mask_wrong}, {&y}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
