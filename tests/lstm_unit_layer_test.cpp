// Table rows for LSTMUnit, against a per-element reference of the LSTM step.
#include <cmath>
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

float Sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

void LstmUnitReference(Layer* layer, const BlobVec& bottom, const BlobVec& top) {
  const int n = bottom[0]->shape(1), h = bottom[0]->shape(2);
  ASSERT_EQ(bottom[0]->shape(), top[0]->shape());
  ASSERT_EQ(bottom[0]->shape(), top[1]->shape());
  std::vector<float> c(n * h), hidden(n * h);
  for (int s = 0; s < n; ++s) {
    for (int j = 0; j < h; ++j) {
      const float* x = bottom[1]->cpu_data() + s * 4 * h;
      const float i = Sigmoid(x[j]), f = Sigmoid(x[h + j]), o = Sigmoid(x[2 * h + j]);
      const float g = std::tanh(x[3 * h + j]);
      const float cont = bottom[2]->cpu_data()[s];
      c[s * h + j] = cont * f * bottom[0]->cpu_data()[s * h + j] + i * g;
      hidden[s * h + j] = o * std::tanh(c[s * h + j]);
    }
  }
  ExpectBlobNear(c, *top[0], 1e-5f);
  ExpectBlobNear(hidden, *top[1], 1e-5f);
}

LayerCase LstmUnitCase(const std::string& name, int n, int h, std::vector<float> cont) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'unit' type: 'LSTMUnit' top: 'c' top: 'h'";
  c.bottom_shapes = {{1, n, h}, {1, n, 4 * h}, {1, n}};
  c.fill = [cont](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 1, 11);
    FillGaussian(bottom[1], 0, 1, 12);
    for (size_t s = 0; s < cont.size(); ++s) bottom[2]->mutable_cpu_data()[s] = cont[s];
  };
  c.reference = LstmUnitReference;
  c.bottoms_to_check = {0, 1};  // cont is a flag
  return c;
}

std::vector<LayerCase> LstmUnitCases() {
  return {
      LstmUnitCase("Continuing", 3, 4, {1, 1, 1}),
      LstmUnitCase("SequenceStarts", 4, 3, {1, 0, 1, 0}),
  };
}

INSTANTIATE_TEST_SUITE_P(LstmUnit, LayerCaseTest, ::testing::ValuesIn(LstmUnitCases()),
                         LayerCaseName);

TEST(LstmUnitLayerTest, BadShapesThrow) {
  Blob c_prev({1, 2, 3}), x({1, 2, 12}), cont({1, 2}), c, h;
  auto layer = MakeLayer("name: 'unit' type: 'LSTMUnit'");
  EXPECT_FALSE(layer->AllowForceBackward(2));
  Blob wrong_x({1, 2, 9});
  EXPECT_THROW(layer->SetUp({&c_prev, &wrong_x, &cont}, {&c, &h}), Error);
  Blob wrong_cont({1, 3});
  EXPECT_THROW(MakeLayer("name: 'unit' type: 'LSTMUnit'")->SetUp({&c_prev, &x, &wrong_cont},
                                                                {&c, &h}),
               Error);
  Blob two_steps({2, 2, 3});
  EXPECT_THROW(MakeLayer("name: 'unit' type: 'LSTMUnit'")->SetUp({&two_steps, &x, &cont},
                                                                {&c, &h}),
               Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
