// Table rows and error checks for the Interp layer (aligned-corner bilinear).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Bilinear sample of plane `x` (h x w, after cropping `crop` on each side)
// at fractional (r, c), computed in double.
double Sample(const float* x, int width, int crop, int h, int w, double r, double c) {
  const int r0 = static_cast<int>(std::floor(r)), c0 = static_cast<int>(std::floor(c));
  const int r1 = std::min(r0 + 1, h - 1), c1 = std::min(c0 + 1, w - 1);
  const double fr = r - r0, fc = c - c0;
  auto at = [&](int i, int j) { return static_cast<double>(x[(i + crop) * width + j + crop]); };
  return (1 - fr) * ((1 - fc) * at(r0, c0) + fc * at(r0, c1)) +
         fr * ((1 - fc) * at(r1, c0) + fc * at(r1, c1));
}

LayerCase InterpCase(const std::string& name, const std::string& params,
                     std::vector<std::vector<int>> shapes, int out_h, int out_w, int crop = 0) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'interp' type: 'Interp' interp_param { " + params + " }";
  c.bottom_shapes = shapes;
  c.reference = [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    ASSERT_EQ((std::vector<int>{in.shape(0), in.shape(1), out_h, out_w}), top[0]->shape());
    const int h = in.shape(2) - 2 * crop, w = in.shape(3) - 2 * crop;
    std::vector<float> expected;
    for (int64_t p = 0; p < in.count(0, 2); ++p) {
      const float* x = in.cpu_data() + p * in.count(2);
      for (int i = 0; i < out_h; ++i) {
        for (int j = 0; j < out_w; ++j) {
          const double r = out_h > 1 ? i * double(h - 1) / (out_h - 1) : 0;
          const double q = out_w > 1 ? j * double(w - 1) / (out_w - 1) : 0;
          expected.push_back(static_cast<float>(Sample(x, in.shape(3), crop, h, w, r, q)));
        }
      }
    }
    ExpectBlobNear(expected, *top[0], 1e-5f);
  };
  c.bottoms_to_check = {0};
  return c;
}

std::vector<LayerCase> InterpCases() {
  return {
      InterpCase("Zoom2", "zoom_factor: 2", {{2, 2, 3, 4}}, 5, 7),
      InterpCase("Shrink2", "shrink_factor: 2", {{1, 2, 5, 6}}, 3, 3),
      InterpCase("ShrinkThenZoom", "shrink_factor: 2 zoom_factor: 3", {{1, 2, 5, 5}}, 7, 7),
      InterpCase("HeightWidth", "height: 6 width: 5", {{1, 3, 3, 4}}, 6, 5),
      InterpCase("Downsize", "height: 2 width: 3", {{1, 2, 5, 7}}, 2, 3),
      InterpCase("SizeFromSecondBottom", "", {{1, 2, 3, 3}, {1, 1, 7, 4}}, 7, 4),
      InterpCase("CropThenZoom", "zoom_factor: 2 pad_beg: -1 pad_end: -1", {{1, 2, 5, 6}}, 5, 7, 1),
  };
}

INSTANTIATE_TEST_SUITE_P(Interp, LayerCaseTest, ::testing::ValuesIn(InterpCases()), LayerCaseName);

TEST(InterpLayerTest, KnownValues) {
  Blob x({1, 1, 2, 2}), y;
  float* d = x.mutable_cpu_data();
  d[0] = 0, d[1] = 1, d[2] = 2, d[3] = 3;
  auto layer = MakeLayer("name: 'i' type: 'Interp' interp_param { zoom_factor: 2 }");
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  ExpectBlobNear({0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3}, y, 1e-6f);
}

TEST(InterpLayerTest, BadParametersThrow) {
  Blob x({1, 2, 3, 3}), y;
  for (const char* params : {"", "height: 4", "pad_beg: 1 zoom_factor: 2",
                             "pad_beg: -2 pad_end: -1 zoom_factor: 2", "zoom_factor: 0"}) {
    auto layer = MakeLayer(std::string("name: 'i' type: 'Interp' interp_param { ") + params + " }");
    EXPECT_THROW(layer->SetUp({&x}, {&y}), Error) << params;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
