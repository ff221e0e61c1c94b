// Table rows and error checks for the Permute layer.
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// `full_order` is the complete axis order the layer should apply.
LayerCase PermuteCase(const std::string& name, const std::string& params, std::vector<int> shape,
                      std::vector<int> full_order) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'permute' type: 'Permute' permute_param { " + params + " }";
  c.bottom_shapes = {shape};
  c.reference = [full_order](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    ASSERT_EQ(in.num_axes(), 4);
    std::vector<int> out_shape;
    for (int axis : full_order) out_shape.push_back(in.shape(axis));
    ASSERT_EQ(out_shape, top[0]->shape());
    std::vector<float> expected;
    int idx[4];
    for (int a = 0; a < out_shape[0]; ++a)
      for (int b = 0; b < out_shape[1]; ++b)
        for (int d = 0; d < out_shape[2]; ++d)
          for (int e = 0; e < out_shape[3]; ++e) {
            const int out_index[4] = {a, b, d, e};
            for (int i = 0; i < 4; ++i) idx[full_order[i]] = out_index[i];
            const int64_t offset =
                ((static_cast<int64_t>(idx[0]) * in.shape(1) + idx[1]) * in.shape(2) + idx[2]) *
                    in.shape(3) +
                idx[3];
            expected.push_back(in.cpu_data()[offset]);
          }
    ExpectBlobNear(expected, *top[0], 0);
  };
  return c;
}

std::vector<LayerCase> PermuteCases() {
  return {
      PermuteCase("SsdNhwc", "order: 0 order: 2 order: 3 order: 1", {2, 3, 4, 5}, {0, 2, 3, 1}),
      PermuteCase("Reverse", "order: 3 order: 2 order: 1 order: 0", {2, 3, 2, 4}, {3, 2, 1, 0}),
      PermuteCase("PartialOrder", "order: 2", {2, 3, 4, 2}, {2, 0, 1, 3}),
      PermuteCase("Identity", "", {2, 3, 2, 2}, {0, 1, 2, 3}),
  };
}

INSTANTIATE_TEST_SUITE_P(Permute, LayerCaseTest, ::testing::ValuesIn(PermuteCases()),
                         LayerCaseName);

// The offset table is built once per bottom shape: a new shape (even one of
// the same count) must rebuild it, and going back must not reuse a stale one.
TEST(PermuteLayerTest, ReshapeRebuildsTheTable) {
  auto layer = MakeLayer("name: 'p' type: 'Permute' permute_param { order: 1 order: 0 }");
  Blob x({2, 3}), y;
  layer->SetUp({&x}, {&y});
  const std::vector<std::vector<int>> shapes = {{2, 3}, {3, 2}, {4, 5}, {2, 3}};
  for (const std::vector<int>& shape : shapes) {
    x.Reshape(shape);
    for (int i = 0; i < x.count(); ++i) x.mutable_cpu_data()[i] = static_cast<float>(i);
    layer->Forward({&x}, {&y});
    ASSERT_EQ(y.shape(), (std::vector<int>{shape[1], shape[0]}));
    for (int r = 0; r < shape[0]; ++r) {
      for (int c = 0; c < shape[1]; ++c) {
        EXPECT_EQ(y.cpu_data()[c * shape[0] + r], static_cast<float>(r * shape[1] + c))
            << shape[0] << "x" << shape[1] << " at " << r << "," << c;
      }
    }
  }
}

TEST(PermuteLayerTest, BadOrderThrows) {
  Blob x({2, 3, 4, 5}), y;
  for (const char* params : {"order: 4", "order: 1 order: 1"}) {
    auto layer =
        MakeLayer(std::string("name: 'p' type: 'Permute' permute_param { ") + params + " }");
    EXPECT_THROW(layer->SetUp({&x}, {&y}), Error) << params;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
