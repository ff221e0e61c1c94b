// LSTM: table rows against a per-element reference of BVLC Caffe's unrolled
// LSTM, the parameter layout caffemodels rely on, and the state carried
// between Forwards without expose_hidden.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

float Sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// Returns h (T x N x H) followed by h_T and c_T (N x H each).
std::vector<float> LstmReference(Layer* layer, const BlobVec& bottom) {
  const bool expose = layer->layer_param().recurrent_param().expose_hidden();
  const bool has_static = bottom.size() == (expose ? 5u : 3u);
  const int t_steps = bottom[0]->shape(0), n = bottom[0]->shape(1);
  const int in = static_cast<int>(bottom[0]->count(2));
  const int h = static_cast<int>(layer->layer_param().recurrent_param().num_output());
  const auto& blobs = layer->blobs();
  const float* w_xc = blobs[0]->cpu_data();
  const float* b_c = blobs[1]->cpu_data();
  const float* w_hc = blobs[has_static ? 3 : 2]->cpu_data();
  std::vector<float> hid(n * h, 0.f), cell(n * h, 0.f), out;
  if (expose) {
    const int first = has_static ? 3 : 2;
    hid.assign(bottom[first]->cpu_data(), bottom[first]->cpu_data() + n * h);
    cell.assign(bottom[first + 1]->cpu_data(), bottom[first + 1]->cpu_data() + n * h);
  }
  for (int t = 0; t < t_steps; ++t) {
    std::vector<float> next_h(n * h), next_c(n * h);
    for (int s = 0; s < n; ++s) {
      const float cont = bottom[1]->cpu_data()[t * n + s];
      const float* x = bottom[0]->cpu_data() + (t * n + s) * in;
      std::vector<float> gate(4 * h);
      for (int k = 0; k < 4 * h; ++k) {
        double sum = b_c[k];
        for (int i = 0; i < in; ++i) sum += w_xc[k * in + i] * x[i];
        for (int j = 0; j < h; ++j) sum += w_hc[k * h + j] * cont * hid[s * h + j];
        if (has_static) {
          const int sin = static_cast<int>(bottom[2]->count(1));
          for (int i = 0; i < sin; ++i) {
            sum += blobs[2]->cpu_data()[k * sin + i] * bottom[2]->cpu_data()[s * sin + i];
          }
        }
        gate[k] = float(sum);
      }
      for (int j = 0; j < h; ++j) {
        const float i = Sigmoid(gate[j]), f = Sigmoid(gate[h + j]);
        const float o = Sigmoid(gate[2 * h + j]), g = std::tanh(gate[3 * h + j]);
        next_c[s * h + j] = cont * f * cell[s * h + j] + i * g;
        next_h[s * h + j] = o * std::tanh(next_c[s * h + j]);
      }
    }
    hid = next_h;
    cell = next_c;
    out.insert(out.end(), hid.begin(), hid.end());
  }
  out.insert(out.end(), hid.begin(), hid.end());
  out.insert(out.end(), cell.begin(), cell.end());
  return out;
}

void CheckLstm(Layer* layer, const BlobVec& bottom, const BlobVec& top) {
  const int t_steps = bottom[0]->shape(0), n = bottom[0]->shape(1);
  const int h = static_cast<int>(layer->layer_param().recurrent_param().num_output());
  ASSERT_EQ((std::vector<int>{t_steps, n, h}), top[0]->shape());
  const std::vector<float> ref = LstmReference(layer, bottom);
  const size_t outputs = size_t(t_steps) * n * h;
  ExpectBlobNear(std::vector<float>(ref.begin(), ref.begin() + outputs), *top[0], 1e-4f);
  if (top.size() == 3) {
    ExpectBlobNear(std::vector<float>(ref.begin() + outputs, ref.begin() + outputs + n * h),
                   *top[1], 1e-4f);
    ExpectBlobNear(std::vector<float>(ref.begin() + outputs + n * h, ref.end()), *top[2],
                   1e-4f);
  }
}

const char kFillers[] =
    "weight_filler { type: 'uniform' min: -0.5 max: 0.5 } "
    "bias_filler { type: 'uniform' min: -0.5 max: 0.5 }";

// cont is 0 at t = 0 (a new sequence) and once more mid-batch for the last
// instance, so both the carry and its cut are exercised.
void FillSequence(const BlobVec& bottom) {
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (i != 1) FillGaussian(bottom[i], 0, 1, 40 + unsigned(i));
  }
  const int t_steps = bottom[1]->shape(0), n = bottom[1]->shape(1);
  for (int t = 0; t < t_steps; ++t) {
    for (int s = 0; s < n; ++s) {
      bottom[1]->mutable_cpu_data()[t * n + s] = (t == 0 || (t == 2 && s == n - 1)) ? 0.f : 1.f;
    }
  }
}

LayerCase LstmCase(const std::string& name, bool expose, bool has_static) {
  const int t_steps = 4, n = 3, in = 2, h = 3;
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'lstm' type: 'LSTM' top: 'h' ";
  if (expose) c.prototxt += "top: 'hT' top: 'cT' ";
  c.prototxt += "recurrent_param { num_output: 3 " + std::string(kFillers) +
                (expose ? " expose_hidden: true" : "") + " }";
  c.bottom_shapes = {{t_steps, n, in}, {t_steps, n}};
  c.bottoms_to_check = {0};
  if (has_static) {
    c.bottom_shapes.push_back({n, 2});
    c.bottoms_to_check.push_back(2);
  }
  if (expose) {
    const int first = static_cast<int>(c.bottom_shapes.size());
    c.bottom_shapes.push_back({1, n, h});
    c.bottom_shapes.push_back({1, n, h});
    c.bottoms_to_check.push_back(first);
    c.bottoms_to_check.push_back(first + 1);
  }
  c.fill = FillSequence;
  c.reference = CheckLstm;
  return c;
}

std::vector<LayerCase> LstmCases() {
  return {
      LstmCase("Plain", false, false),
      LstmCase("StaticInput", false, true),
      LstmCase("ExposeHidden", true, false),
      LstmCase("StaticAndExposeHidden", true, true),
  };
}

INSTANTIATE_TEST_SUITE_P(Lstm, LayerCaseTest, ::testing::ValuesIn(LstmCases()), LayerCaseName);

TEST(LstmLayerTest, ParameterBlobsInCaffeOrder) {
  Blob x({2, 3, 5}), cont({2, 3}), x_static({3, 4}), h;
  auto layer = MakeLayer("name: 'lstm' type: 'LSTM' recurrent_param { num_output: 6 }");
  layer->SetUp({&x, &cont, &x_static}, {&h});
  ASSERT_EQ(4u, layer->blobs().size());
  EXPECT_EQ((std::vector<int>{24, 5}), layer->blobs()[0]->shape());  // W_xc
  EXPECT_EQ(std::vector<int>{24}, layer->blobs()[1]->shape());       // b_c
  EXPECT_EQ((std::vector<int>{24, 4}), layer->blobs()[2]->shape());  // W_xc_static
  EXPECT_EQ((std::vector<int>{24, 6}), layer->blobs()[3]->shape());  // W_hc
  EXPECT_EQ((std::vector<int>{2, 3, 6}), h.shape());
  EXPECT_FALSE(layer->AllowForceBackward(1));
}

// Without expose_hidden the state flows from one Forward into the next:
// two halves of a sequence give the same output as the whole.
TEST(LstmLayerTest, StateCarriesAcrossForwards) {
  const std::string proto = "name: 'lstm' type: 'LSTM' recurrent_param { num_output: 3 " +
                            std::string(kFillers) + " }";
  Blob x({6, 2, 2}), cont({6, 2}), whole;
  FillGaussian(&x, 0, 1, 3);
  for (int i = 0; i < 12; ++i) cont.mutable_cpu_data()[i] = i < 2 ? 0.f : 1.f;
  auto full = MakeLayer(proto);
  full->SetUp({&x, &cont}, {&whole});
  full->Forward({&x, &cont}, {&whole});

  auto halves = MakeLayer(proto);
  Blob x_half({3, 2, 2}), cont_half({3, 2}), part;
  halves->SetUp({&x_half, &cont_half}, {&part});
  for (size_t i = 0; i < halves->blobs().size(); ++i) {
    const Blob& from = *full->blobs()[i];
    std::copy_n(from.cpu_data(), from.count(), halves->blobs()[i]->mutable_cpu_data());
  }
  for (int half = 0; half < 2; ++half) {
    std::copy_n(x.cpu_data() + half * 12, 12, x_half.mutable_cpu_data());
    std::copy_n(cont.cpu_data() + half * 6, 6, cont_half.mutable_cpu_data());
    halves->Forward({&x_half, &cont_half}, {&part});
    ExpectBlobNear(std::vector<float>(whole.cpu_data() + half * 18,
                                      whole.cpu_data() + half * 18 + 18),
                   part, 1e-5f);
  }
}

TEST(LstmLayerTest, BadInputsThrow) {
  const std::string proto = "name: 'lstm' type: 'LSTM' recurrent_param { num_output: 3 }";
  Blob x({2, 3, 5}), cont({2, 3}), h;
  EXPECT_THROW(MakeLayer("name: 'lstm' type: 'LSTM'")->SetUp({&x, &cont}, {&h}), Error);
  Blob wrong_cont({2, 4});
  EXPECT_THROW(MakeLayer(proto)->SetUp({&x, &wrong_cont}, {&h}), Error);
  Blob flat({6, 5});
  EXPECT_THROW(MakeLayer(proto)->SetUp({&flat, &cont}, {&h}), Error);
  Blob h_t;
  EXPECT_THROW(MakeLayer(proto)->SetUp({&x, &cont}, {&h, &h_t}), Error);
  Blob h0({1, 3, 4}), c0({1, 3, 3}), c_t;
  EXPECT_THROW(MakeLayer("name: 'lstm' type: 'LSTM' recurrent_param { num_output: 3 "
                         "expose_hidden: true }")
                   ->SetUp({&x, &cont, &h0, &c0}, {&h, &h_t, &c_t}),
               Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
