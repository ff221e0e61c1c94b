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
  // Known values, so the reference can tell that Forward left its inputs alone.
  c.fill = [](const BlobVec& bottom) {
    for (size_t b = 0; b < bottom.size(); ++b) {
      for (int64_t i = 0; i < bottom[b]->count(); ++i) {
        bottom[b]->mutable_cpu_data()[i] = 100.f * b + 0.5f * i - 1.f;
      }
    }
  };
  c.reference = [](Layer*, const BlobVec& bottom, const BlobVec& top) {
    EXPECT_TRUE(top.empty());
    ASSERT_EQ(bottom.size(), 2u);
    EXPECT_EQ((std::vector<int>{2, 3}), bottom[0]->shape());
    EXPECT_EQ((std::vector<int>{4}), bottom[1]->shape());
    for (size_t b = 0; b < bottom.size(); ++b) {
      std::vector<float> expected;
      for (int64_t i = 0; i < bottom[b]->count(); ++i) expected.push_back(100.f * b + 0.5f * i - 1.f);
      ExpectBlobNear(expected, *bottom[b], 0.f);
    }
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
