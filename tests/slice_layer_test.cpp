// Table rows and error checks for the Slice layer.
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Top t holds bottom positions [starts[t], starts[t] + size_t) of `axis`.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> SliceReference(
    int axis, std::vector<int> starts) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    ASSERT_EQ(starts.size(), top.size());
    for (size_t t = 0; t < top.size(); ++t) {
      const int size = top[t]->shape(axis);
      std::vector<int> shape = in.shape();
      shape[axis] = size;
      ASSERT_EQ(shape, top[t]->shape()) << "top " << t;
      std::vector<float> expected;
      for (int64_t o = 0; o < in.count(0, axis); ++o) {
        for (int j = 0; j < size; ++j) {
          for (int64_t i = 0; i < in.count(axis + 1); ++i) {
            expected.push_back(
                in.cpu_data()[(o * in.shape(axis) + starts[t] + j) * in.count(axis + 1) + i]);
          }
        }
      }
      ExpectBlobNear(expected, *top[t], 0);
    }
  };
}

LayerCase SliceCase(const std::string& name, const std::string& params,
                    std::vector<int> shape, int tops, int axis, std::vector<int> starts) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'slice' type: 'Slice' " + params;
  for (int t = 0; t < tops; ++t) c.prototxt += " top: 't" + std::to_string(t) + "'";
  c.bottom_shapes = {shape};
  c.reference = SliceReference(axis, starts);
  return c;
}

std::vector<LayerCase> SliceCases() {
  return {
      SliceCase("EqualChannels", "", {2, 6, 3, 2}, 3, 1, {0, 2, 4}),
      SliceCase("Points", "slice_param { slice_point: 1 slice_point: 4 }", {2, 6, 3, 2}, 3, 1,
                {0, 1, 4}),
      SliceCase("Axis0", "slice_param { axis: 0 slice_point: 3 }", {5, 2, 3}, 2, 0, {0, 3}),
      SliceCase("LastAxis", "slice_param { axis: -1 }", {2, 3, 4}, 2, 2, {0, 2}),
      SliceCase("LegacySliceDim", "slice_param { slice_dim: 2 slice_point: 1 }", {2, 3, 4, 2},
                2, 2, {0, 1}),
      SliceCase("OneTop", "", {2, 3, 4}, 1, 1, {0}),
  };
}

INSTANTIATE_TEST_SUITE_P(Slice, LayerCaseTest, ::testing::ValuesIn(SliceCases()),
                         LayerCaseName);

void ExpectSetUpThrows(const std::string& params, std::vector<int> shape, int tops) {
  Blob x(shape);
  std::vector<Blob> storage(tops);
  BlobVec top;
  for (Blob& b : storage) top.push_back(&b);
  auto layer = MakeLayer("name: 'slice' type: 'Slice' " + params);
  EXPECT_THROW(layer->SetUp({&x}, top), Error) << params;
}

TEST(SliceLayerTest, BadParametersThrow) {
  ExpectSetUpThrows("slice_param { axis: 1 slice_dim: 1 }", {2, 4}, 2);
  ExpectSetUpThrows("slice_param { slice_point: 1 }", {2, 4}, 3);
  ExpectSetUpThrows("slice_param { slice_point: 3 slice_point: 2 }", {2, 4}, 3);
  ExpectSetUpThrows("slice_param { slice_point: 4 }", {2, 4}, 2);
  ExpectSetUpThrows("", {2, 5}, 2);
  ExpectSetUpThrows("slice_param { axis: 3 }", {2, 4}, 2);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
