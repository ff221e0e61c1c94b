// Table rows and shape checks for the EuclideanLoss layer.
#include <string>
#include <vector>

#include "loss_reference.hpp"

namespace cortado {
namespace testing {
namespace {

double NaiveEuclidean(const BlobVec& bottom) {
  double sum = 0;
  for (int64_t i = 0; i < bottom[0]->count(); ++i) {
    const double d = double(bottom[0]->cpu_data()[i]) - bottom[1]->cpu_data()[i];
    sum += d * d;
  }
  return sum / bottom[0]->shape(0) / 2;
}

std::vector<LayerCase> EuclideanLossCases() {
  std::vector<LayerCase> cases;
  {
    LayerCase c;
    c.name = "Default";
    c.prototxt = "name: 'loss' type: 'EuclideanLoss'";
    c.bottom_shapes = {{4, 5}, {4, 5}};
    c.reference = LossReference(NaiveEuclidean);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "FourAxesLossWeight";
    c.prototxt = "name: 'loss' type: 'EuclideanLoss' loss_weight: 2.5";
    c.bottom_shapes = {{3, 2, 2, 2}, {3, 8}};
    c.reference = LossReference(NaiveEuclidean, 2.5f);
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EuclideanLoss, LayerCaseTest, ::testing::ValuesIn(EuclideanLossCases()),
                         LayerCaseName);

TEST(EuclideanLossLayerTest, MismatchedBottomsThrow) {
  Blob a({4, 5}), b({5, 4}), c({4, 6}), loss;
  auto layer = MakeLayer("name: 'l' type: 'EuclideanLoss'");
  EXPECT_THROW(layer->SetUp({&a, &b}, {&loss}), Error);
  auto other = MakeLayer("name: 'l' type: 'EuclideanLoss'");
  EXPECT_THROW(other->SetUp({&a, &c}, {&loss}), Error);
}

TEST(EuclideanLossLayerTest, ForwardReturnsTheWeightedLoss) {
  Blob a({2, 1}), b({2, 1}), loss;
  a.mutable_cpu_data()[0] = 3;  // (3 - 0)^2 + (0 - 1)^2 = 10; / (2 * 2) = 2.5
  b.mutable_cpu_data()[1] = 1;
  auto layer = MakeLayer("name: 'l' type: 'EuclideanLoss' loss_weight: 2");
  layer->SetUp({&a, &b}, {&loss});
  EXPECT_FLOAT_EQ(5.f, layer->Forward({&a, &b}, {&loss}));
  EXPECT_FLOAT_EQ(2.5f, loss.cpu_data()[0]);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
