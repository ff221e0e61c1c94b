// DummyData: shapes (current and legacy forms) and fillers per top.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace {

using testing::MakeLayer;

TEST(DummyDataLayerTest, ShapesAndFillersPerTop) {
  auto layer = MakeLayer(R"(name: 'dummy' type: 'DummyData'
      dummy_data_param {
        shape { dim: 2 dim: 3 dim: 4 } shape { dim: 5 }
        data_filler { type: 'constant' value: 7 }
        data_filler { type: 'uniform' min: 1 max: 2 } })");
  Blob a, b;
  BlobVec top = {&a, &b};
  layer->SetUp({}, top);
  EXPECT_EQ(a.shape(), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(b.shape(), (std::vector<int>{5}));
  layer->Forward({}, top);
  for (int64_t i = 0; i < a.count(); ++i) ASSERT_EQ(a.cpu_data()[i], 7.f);
  std::vector<float> first(b.cpu_data(), b.cpu_data() + b.count());
  for (float v : first) {
    EXPECT_GE(v, 1.f);
    EXPECT_LE(v, 2.f);
  }
  // Random tops are refilled every Forward; constant ones are restored.
  a.mutable_cpu_data()[0] = -1;
  layer->Forward({}, top);
  EXPECT_EQ(a.cpu_data()[0], 7.f);
  bool changed = false;
  for (int i = 0; i < b.count(); ++i) changed |= b.cpu_data()[i] != first[i];
  EXPECT_TRUE(changed);
}

TEST(DummyDataLayerTest, LegacyDimsAndSharedFiller) {
  auto layer = MakeLayer(R"(name: 'dummy' type: 'DummyData'
      dummy_data_param { num: 2 num: 3 channels: 4 height: 5 width: 6 height: 1 width: 1
                         channels: 1
                         data_filler { type: 'gaussian' mean: 10 std: 0.1 } })");
  Blob a, b;
  BlobVec top = {&a, &b};
  layer->SetUp({}, top);
  EXPECT_EQ(a.shape(), (std::vector<int>{2, 4, 5, 6}));
  EXPECT_EQ(b.shape(), (std::vector<int>{3, 1, 1, 1}));
  layer->Forward({}, top);
  for (const Blob* blob : {&a, &b}) {
    double mean = 0;
    for (int64_t i = 0; i < blob->count(); ++i) mean += blob->cpu_data()[i];
    EXPECT_NEAR(mean / blob->count(), 10.0, 0.2);
  }
}

TEST(DummyDataLayerTest, NoFillerMeansZerosAndEveryFillerTypeWorks) {
  for (const char* filler : {"constant", "uniform", "gaussian", "positive_unitball", "xavier",
                             "msra", "bilinear"}) {
    SCOPED_TRACE(filler);
    auto layer = MakeLayer(std::string("name: 'd' type: 'DummyData' dummy_data_param { "
                                       "shape { dim: 2 dim: 2 dim: 4 dim: 4 } data_filler { type: '") +
                           filler + "' } }");
    Blob a;
    layer->SetUp({}, {&a});
    layer->Forward({}, {&a});
    for (int64_t i = 0; i < a.count(); ++i) ASSERT_TRUE(std::isfinite(a.cpu_data()[i]));
  }
  auto zeros = MakeLayer("name: 'd' type: 'DummyData' dummy_data_param { shape { dim: 3 } }");
  Blob z;
  zeros->SetUp({}, {&z});
  zeros->Forward({}, {&z});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(z.cpu_data()[i], 0.f);
}

TEST(DummyDataLayerTest, BadCountsThrowNamingTheLayer) {
  for (const char* param : {
           "shape { dim: 1 } shape { dim: 2 } shape { dim: 3 }",  // 3 shapes, 2 tops
           "shape { dim: 1 } num: 1 channels: 1 height: 1 width: 1",
           "num: 1 channels: 1 height: 1",  // width missing
           "shape { dim: 1 } data_filler { type: 'nonsense' }",
       }) {
    SCOPED_TRACE(param);
    auto layer = MakeLayer(std::string("name: 'dummy' type: 'DummyData' dummy_data_param { ") +
                           param + " }");
    Blob a, b;
    try {
      layer->SetUp({}, {&a, &b});
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("dummy"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace cortado
