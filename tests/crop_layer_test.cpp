// Table rows and bounds checks for the Crop layer.
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// offsets has one entry per axis (zero before the crop axis).
std::function<void(Layer*, const BlobVec&, const BlobVec&)> CropReference(
    std::vector<int> offsets) {
  return [offsets](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    const Blob& out = *top[0];
    const int axes = in.num_axes();
    std::vector<float> expected(out.count());
    for (int64_t t = 0; t < out.count(); ++t) {
      // Unravel t in the top, shift by the offsets, ravel in the bottom.
      int64_t rest = t, from = 0, stride = 1;
      for (int a = axes - 1; a >= 0; --a) {
        from += (rest % out.shape(a) + offsets[a]) * stride;
        rest /= out.shape(a);
        stride *= in.shape(a);
      }
      expected[t] = in.cpu_data()[from];
    }
    ExpectBlobNear(expected, out, 0);
  };
}

LayerCase CropCase(const std::string& name, const std::string& params,
                   std::vector<std::vector<int>> shapes, std::vector<int> top_shape,
                   std::vector<int> offsets) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'crop' type: 'Crop' " + params;
  c.bottom_shapes = shapes;
  auto reference = CropReference(offsets);
  c.reference = [reference, top_shape](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top_shape, top[0]->shape());
    reference(layer, bottom, top);
  };
  return c;
}

std::vector<LayerCase> CropCases() {
  return {
      CropCase("DefaultSpatial", "", {{2, 3, 6, 5}, {1, 1, 4, 3}}, {2, 3, 4, 3}, {0, 0, 0, 0}),
      CropCase("OneOffset", "crop_param { offset: 1 }", {{2, 3, 6, 5}, {2, 3, 4, 3}},
               {2, 3, 4, 3}, {0, 0, 1, 1}),
      CropCase("PerAxisOffsets", "crop_param { axis: 1 offset: 1 offset: 2 offset: 0 }",
               {{2, 4, 6, 5}, {7, 2, 3, 4}}, {2, 2, 3, 4}, {0, 1, 2, 0}),
      CropCase("AllAxes", "crop_param { axis: 0 offset: 1 }", {{3, 4, 5}, {2, 2, 3}},
               {2, 2, 3}, {1, 1, 1}),
      CropCase("LastAxis", "crop_param { axis: -1 offset: 2 }", {{2, 3, 7}, {1, 1, 4}},
               {2, 3, 4}, {0, 0, 2}),
  };
}

INSTANTIATE_TEST_SUITE_P(Crop, LayerCaseTest, ::testing::ValuesIn(CropCases()), LayerCaseName);

TEST(CropLayerTest, OutOfBoundsAndBadOffsetsThrow) {
  Blob x({2, 3, 6, 5}), like({2, 3, 4, 4}), y;
  auto too_far = MakeLayer("name: 'c' type: 'Crop' crop_param { offset: 2 }");
  EXPECT_THROW(too_far->SetUp({&x, &like}, {&y}), Error);
  auto count = MakeLayer("name: 'c' type: 'Crop' crop_param { offset: 1 offset: 1 offset: 1 }");
  EXPECT_THROW(count->SetUp({&x, &like}, {&y}), Error);
  Blob flat({2, 3});
  auto axes = MakeLayer("name: 'c' type: 'Crop'");
  EXPECT_THROW(axes->SetUp({&x, &flat}, {&y}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
