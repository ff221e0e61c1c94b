// Table rows and backward checks for the Silence layer.
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

std::vector<LayerCase> SilenceCases() {
  LayerCase c;
  c.name = "TwoBottoms";
  c.prototxt = "name: 'silence' type: 'Silence'";
  c.bottom_shapes = {{2, 3}, {4}};
  c.reference = [](Layer*, const BlobVec& bottom, const BlobVec& top) {
    EXPECT_TRUE(top.empty());
    EXPECT_EQ((std::vector<int>{2, 3}), bottom[0]->shape());  // untouched
  };
  return {c};
}

INSTANTIATE_TEST_SUITE_P(Silence, LayerCaseTest, ::testing::ValuesIn(SilenceCases()),
                         LayerCaseName);

TEST(SilenceLayerTest, BackwardZeroesOnlyRequestedDiffs) {
  Blob a({3});
  Blob b({2});
  auto layer = MakeLayer("name: 'silence' type: 'Silence'");
  layer->SetUp({&a, &b}, {});
  for (int i = 0; i < 3; ++i) a.mutable_cpu_diff()[i] = 7.f;
  for (int i = 0; i < 2; ++i) b.mutable_cpu_diff()[i] = 7.f;
  layer->Forward({&a, &b}, {});
  layer->Backward({}, {true, false}, {&a, &b});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(0.f, a.cpu_diff()[i]);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(7.f, b.cpu_diff()[i]);
}

TEST(SilenceLayerTest, RefusesTops) {
  Blob a({3});
  Blob t;
  auto layer = MakeLayer("name: 'silence' type: 'Silence'");
  EXPECT_THROW(layer->SetUp({&a}, {&t}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
