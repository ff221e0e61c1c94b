// Table rows and index checks for the BatchReindex layer.
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

void BatchReindexReference(Layer*, const BlobVec& bottom, const BlobVec& top) {
  const int64_t item = bottom[0]->count(1);
  std::vector<int> shape = bottom[0]->shape();
  shape[0] = bottom[1]->count();
  ASSERT_EQ(shape, top[0]->shape());
  std::vector<float> expected;
  for (int i = 0; i < bottom[1]->count(); ++i) {
    const float* x = bottom[0]->cpu_data() + int(bottom[1]->cpu_data()[i]) * item;
    expected.insert(expected.end(), x, x + item);
  }
  ExpectBlobNear(expected, *top[0], 0);
}

LayerCase ReindexCase(const std::string& name, std::vector<int> shape,
                      std::vector<float> indices) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'reindex' type: 'BatchReindex'";
  c.bottom_shapes = {shape, {int(indices.size())}};
  c.fill = [indices](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 1, 43);
    std::copy(indices.begin(), indices.end(), bottom[1]->mutable_cpu_data());
  };
  c.reference = BatchReindexReference;
  c.bottoms_to_check = {0};
  return c;
}

std::vector<LayerCase> BatchReindexCases() {
  return {
      ReindexCase("Permutation", {4, 3, 2}, {2, 0, 3, 1}),
      ReindexCase("RepeatsAndGaps", {5, 2, 2}, {4, 4, 0, 2, 4, 0}),
      ReindexCase("Fewer", {6, 3}, {5, 1}),
  };
}

INSTANTIATE_TEST_SUITE_P(BatchReindex, LayerCaseTest, ::testing::ValuesIn(BatchReindexCases()),
                         LayerCaseName);

TEST(BatchReindexLayerTest, BadIndicesThrow) {
  Blob x({3, 2}), index({2}), y;
  auto layer = MakeLayer("name: 'r' type: 'BatchReindex'");
  layer->SetUp({&x, &index}, {&y});
  index.mutable_cpu_data()[1] = 3;
  EXPECT_THROW(layer->Forward({&x, &index}, {&y}), Error);
  index.mutable_cpu_data()[1] = -1;
  EXPECT_THROW(layer->Forward({&x, &index}, {&y}), Error);
  index.mutable_cpu_data()[1] = 2;
  layer->Forward({&x, &index}, {&y});
  EXPECT_THROW(layer->Backward({&y}, {true, true}, {&x, &index}), Error);
  Blob index2d({2, 1});
  auto two_d = MakeLayer("name: 'r' type: 'BatchReindex'");
  EXPECT_THROW(two_d->SetUp({&x, &index2d}, {&y}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
