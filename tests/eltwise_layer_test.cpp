// Table rows and error checks for the Eltwise layer.
#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

enum class Op { kSum, kProd, kMax };

std::function<void(Layer*, const BlobVec&, const BlobVec&)> EltwiseReference(
    Op op, std::vector<float> coeffs) {
  return [op, coeffs](Layer*, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
    std::vector<float> expected(top[0]->count());
    for (size_t j = 0; j < expected.size(); ++j) {
      double acc = op == Op::kProd ? 1.0 : op == Op::kSum ? 0.0 : -1e30;
      for (size_t i = 0; i < bottom.size(); ++i) {
        const double v = bottom[i]->cpu_data()[j];
        if (op == Op::kSum) acc += (coeffs.empty() ? 1.0 : coeffs[i]) * v;
        if (op == Op::kProd) acc *= v;
        if (op == Op::kMax) acc = std::max(acc, v);
      }
      expected[j] = static_cast<float>(acc);
    }
    ExpectBlobNear(expected, *top[0], 1e-5f);
  };
}

// Values unique across all bottoms and at least 0.05 apart, so the maximum
// never changes under the checker's 0.01 step.
void FillDistinct(const BlobVec& bottom) {
  std::vector<int> order(bottom.size() * bottom[0]->count());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(5));
  size_t next = 0;
  for (Blob* b : bottom) {
    float* data = b->mutable_cpu_data();
    for (int64_t j = 0; j < b->count(); ++j) data[j] = 0.05f * order[next++] - 4.f;
  }
}

LayerCase EltwiseCase(const std::string& name, const std::string& params, Op op,
                      std::vector<float> coeffs, int bottoms) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'elt' type: 'Eltwise' eltwise_param { " + params + " }";
  for (int i = 0; i < bottoms; ++i) c.prototxt += " bottom: 'b" + std::to_string(i) + "'";
  c.bottom_shapes.assign(bottoms, {2, 3, 4, 3});
  c.reference = EltwiseReference(op, std::move(coeffs));
  if (op == Op::kMax) c.fill = FillDistinct;
  return c;
}

std::vector<LayerCase> EltwiseCases() {
  std::vector<LayerCase> cases;
  cases.push_back(EltwiseCase("Sum", "operation: SUM", Op::kSum, {}, 2));
  cases.push_back(EltwiseCase("SumCoeffs", "operation: SUM coeff: 1 coeff: -0.5 coeff: 2",
                              Op::kSum, {1, -0.5f, 2}, 3));
  cases.push_back(EltwiseCase("Prod", "operation: PROD", Op::kProd, {}, 3));
  {
    LayerCase c = EltwiseCase("ProdUnstableGrad", "operation: PROD stable_prod_grad: false",
                              Op::kProd, {}, 3);
    // Dividing the product by a bottom needs bottoms away from zero.
    c.fill = [](const BlobVec& bottom) {
      for (size_t i = 0; i < bottom.size(); ++i) FillUniform(bottom[i], 0.5f, 1.5f, 40 + i);
    };
    cases.push_back(c);
  }
  cases.push_back(EltwiseCase("Max", "operation: MAX", Op::kMax, {}, 3));
  cases.push_back(EltwiseCase("MaxTwo", "operation: MAX", Op::kMax, {}, 2));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Eltwise, LayerCaseTest, ::testing::ValuesIn(EltwiseCases()),
                         LayerCaseName);

// Zeros in a bottom: the stable gradient is still the product of the others.
TEST(EltwiseProd, StableGradientWithZeros) {
  auto layer = MakeLayer(
      "name: 'elt' type: 'Eltwise' eltwise_param { operation: PROD } bottom: 'a' bottom: 'b'");
  ASSERT_NE(layer, nullptr);
  Blob a(std::vector<int>{4}), b(std::vector<int>{4}), top;
  const float av[] = {0, 2, 0, -1}, bv[] = {3, 0, 0, 5};
  std::copy(av, av + 4, a.mutable_cpu_data());
  std::copy(bv, bv + 4, b.mutable_cpu_data());
  layer->SetUp({&a, &b}, {&top});
  layer->Forward({&a, &b}, {&top});
  std::fill_n(top.mutable_cpu_diff(), 4, 2.f);
  layer->Backward({&top}, {true, true}, {&a, &b});
  for (int i = 0; i < 4; ++i) {
    EXPECT_FLOAT_EQ(a.cpu_diff()[i], 2 * bv[i]) << i;
    EXPECT_FLOAT_EQ(b.cpu_diff()[i], 2 * av[i]) << i;
  }
}

TEST(EltwiseErrors, CoeffCountMismatch) {
  auto layer = MakeLayer(
      "name: 'e' type: 'Eltwise' eltwise_param { coeff: 1 } bottom: 'a' bottom: 'b'");
  ASSERT_NE(layer, nullptr);
  Blob a(std::vector<int>{2}), b(std::vector<int>{2}), top;
  EXPECT_THROW(layer->SetUp({&a, &b}, {&top}), Error);
}

TEST(EltwiseErrors, ShapeMismatch) {
  auto layer = MakeLayer("name: 'e' type: 'Eltwise' bottom: 'a' bottom: 'b'");
  ASSERT_NE(layer, nullptr);
  Blob a(std::vector<int>{2, 3}), b(std::vector<int>{3, 2}), top;
  try {
    layer->SetUp({&a, &b}, {&top});
    FAIL() << "mismatched shapes accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'e'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
