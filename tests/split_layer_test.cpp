// Table rows and error checks for the Split layer.
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

void SplitReference(Layer*, const BlobVec& bottom, const BlobVec& top) {
  std::vector<float> expected(bottom[0]->cpu_data(), bottom[0]->cpu_data() + bottom[0]->count());
  for (Blob* t : top) {
    EXPECT_EQ(bottom[0]->shape(), t->shape());
    ExpectBlobNear(expected, *t, 0.f);
  }
}

std::vector<LayerCase> SplitCases() {
  std::vector<LayerCase> cases;
  for (int tops : {1, 2, 3}) {
    LayerCase c;
    c.name = "Tops" + std::to_string(tops);
    c.prototxt = "name: 'split' type: 'Split'";
    for (int i = 0; i < tops; ++i) c.prototxt += " top: 't" + std::to_string(i) + "'";
    c.bottom_shapes = {{2, 3, 4}};
    c.reference = SplitReference;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Split, LayerCaseTest, ::testing::ValuesIn(SplitCases()),
                         LayerCaseName);

TEST(SplitLayerTest, BackwardSumsTopDiffs) {
  Blob bottom({2, 2});
  Blob a, b, c;
  auto layer = MakeLayer("name: 'split' type: 'Split'");
  BlobVec top = {&a, &b, &c};
  layer->SetUp({&bottom}, top);
  for (int i = 0; i < 4; ++i) {
    a.mutable_cpu_diff()[i] = 1.f * i;
    b.mutable_cpu_diff()[i] = 10.f;
    c.mutable_cpu_diff()[i] = -100.f * i;
    bottom.mutable_cpu_diff()[i] = 12345.f;  // must be overwritten
  }
  layer->Backward(top, {true}, {&bottom});
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(i + 10.f - 100.f * i, bottom.cpu_diff()[i]);
}

TEST(SplitLayerTest, InPlaceThrows) {
  Blob bottom({2, 2});
  Blob other;
  auto layer = MakeLayer("name: 'split' type: 'Split'");
  EXPECT_THROW(layer->SetUp({&bottom}, {&other, &bottom}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
