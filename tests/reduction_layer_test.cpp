// Table rows for the Reduction layer.
#include <cmath>
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

enum class Op { kSum, kAsum, kSumSq, kMean };

std::function<void(Layer*, const BlobVec&, const BlobVec&)> ReductionReference(int axis, Op op,
                                                                               double coeff) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    const int a = axis < 0 ? axis + in.num_axes() : axis;
    ASSERT_EQ(std::vector<int>(in.shape().begin(), in.shape().begin() + a), top[0]->shape());
    const int64_t dim = in.count(a);
    std::vector<float> expected;
    for (int64_t r = 0; r < in.count(0, a); ++r) {
      double sum = 0;
      for (int64_t i = 0; i < dim; ++i) {
        const double x = in.cpu_data()[r * dim + i];
        sum += op == Op::kAsum ? std::fabs(x) : op == Op::kSumSq ? x * x : x;
      }
      if (op == Op::kMean) sum /= dim;
      expected.push_back(float(coeff * sum));
    }
    ExpectBlobNear(expected, *top[0], 1e-5f);
  };
}

LayerCase ReductionCase(const std::string& name, const std::string& params,
                        std::vector<int> shape, int axis, Op op, double coeff) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'reduce' type: 'Reduction' reduction_param { " + params + " }";
  c.bottom_shapes = {shape};
  c.reference = ReductionReference(axis, op, coeff);
  c.gradient.kink = 0;
  c.gradient.kink_range = op == Op::kAsum ? 0.02f : -1;
  return c;
}

std::vector<LayerCase> ReductionCases() {
  return {
      ReductionCase("SumAll", "", {2, 3, 4}, 0, Op::kSum, 1),
      ReductionCase("SumAxis1Coeff", "axis: 1 coeff: -2.5", {2, 3, 4}, 1, Op::kSum, -2.5),
      ReductionCase("Asum", "operation: ASUM axis: 1", {3, 2, 5}, 1, Op::kAsum, 1),
      ReductionCase("AsumCoeff", "operation: ASUM coeff: 0.3", {3, 4}, 0, Op::kAsum, 0.3),
      ReductionCase("SumSq", "operation: SUMSQ axis: -1", {2, 3, 4}, 2, Op::kSumSq, 1),
      ReductionCase("SumSqCoeff", "operation: SUMSQ axis: 1 coeff: 1.7", {2, 6}, 1, Op::kSumSq,
                    1.7),
      ReductionCase("Mean", "operation: MEAN axis: 2", {2, 3, 4, 5}, 2, Op::kMean, 1),
      ReductionCase("MeanCoeffAll", "operation: MEAN coeff: 2", {2, 3, 4}, 0, Op::kMean, 2),
  };
}

INSTANTIATE_TEST_SUITE_P(Reduction, LayerCaseTest, ::testing::ValuesIn(ReductionCases()),
                         LayerCaseName);

TEST(ReductionLayerTest, AxisOutOfRangeThrows) {
  Blob x({2, 3}), y;
  auto layer = MakeLayer("name: 'r' type: 'Reduction' reduction_param { axis: 2 }");
  EXPECT_THROW(layer->SetUp({&x}, {&y}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
