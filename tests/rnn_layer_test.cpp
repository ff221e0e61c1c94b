// RNN: table rows against a per-element reference of BVLC Caffe's unrolled
// RNN, the parameter layout caffemodels rely on, and the state carried
// between Forwards without expose_hidden.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Returns o (T x N x H) followed by h_T (N x H).
std::vector<float> RnnReference(Layer* layer, const BlobVec& bottom) {
  const bool expose = layer->layer_param().recurrent_param().expose_hidden();
  const bool has_static = bottom.size() == (expose ? 4u : 3u);
  const int t_steps = bottom[0]->shape(0), n = bottom[0]->shape(1);
  const int in = static_cast<int>(bottom[0]->count(2));
  const int h = static_cast<int>(layer->layer_param().recurrent_param().num_output());
  const auto& blobs = layer->blobs();
  const int k = has_static ? 1 : 0;
  const float* w_xh = blobs[0]->cpu_data();
  const float* b_h = blobs[1]->cpu_data();
  const float* w_hh = blobs[2 + k]->cpu_data();
  const float* w_ho = blobs[3 + k]->cpu_data();
  const float* b_o = blobs[4 + k]->cpu_data();
  std::vector<float> hid(n * h, 0.f), out;
  if (expose) {
    const Blob& h0 = *bottom[has_static ? 3 : 2];
    hid.assign(h0.cpu_data(), h0.cpu_data() + n * h);
  }
  for (int t = 0; t < t_steps; ++t) {
    std::vector<float> next(n * h);
    for (int s = 0; s < n; ++s) {
      const float cont = bottom[1]->cpu_data()[t * n + s];
      const float* x = bottom[0]->cpu_data() + (t * n + s) * in;
      for (int r = 0; r < h; ++r) {
        double sum = b_h[r];
        for (int i = 0; i < in; ++i) sum += w_xh[r * in + i] * x[i];
        for (int j = 0; j < h; ++j) sum += w_hh[r * h + j] * cont * hid[s * h + j];
        if (has_static) {
          const int sin = static_cast<int>(bottom[2]->count(1));
          for (int i = 0; i < sin; ++i) {
            sum += blobs[2]->cpu_data()[r * sin + i] * bottom[2]->cpu_data()[s * sin + i];
          }
        }
        next[s * h + r] = std::tanh(float(sum));
      }
    }
    hid = next;
    for (int s = 0; s < n; ++s) {
      for (int r = 0; r < h; ++r) {
        double sum = b_o[r];
        for (int j = 0; j < h; ++j) sum += w_ho[r * h + j] * hid[s * h + j];
        out.push_back(std::tanh(float(sum)));
      }
    }
  }
  out.insert(out.end(), hid.begin(), hid.end());
  return out;
}

void CheckRnn(Layer* layer, const BlobVec& bottom, const BlobVec& top) {
  const int t_steps = bottom[0]->shape(0), n = bottom[0]->shape(1);
  const int h = static_cast<int>(layer->layer_param().recurrent_param().num_output());
  ASSERT_EQ((std::vector<int>{t_steps, n, h}), top[0]->shape());
  const std::vector<float> ref = RnnReference(layer, bottom);
  const size_t outputs = size_t(t_steps) * n * h;
  ExpectBlobNear(std::vector<float>(ref.begin(), ref.begin() + outputs), *top[0], 1e-4f);
  if (top.size() == 2) {
    ExpectBlobNear(std::vector<float>(ref.begin() + outputs, ref.end()), *top[1], 1e-4f);
  }
}

const char kFillers[] =
    "weight_filler { type: 'uniform' min: -0.5 max: 0.5 } "
    "bias_filler { type: 'uniform' min: -0.5 max: 0.5 }";

// cont is 0 at t = 0 (a new sequence) and once more mid-batch for the first
// instance, so both the carry and its cut are exercised.
void FillSequence(const BlobVec& bottom) {
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (i != 1) FillGaussian(bottom[i], 0, 1, 60 + unsigned(i));
  }
  const int t_steps = bottom[1]->shape(0), n = bottom[1]->shape(1);
  for (int t = 0; t < t_steps; ++t) {
    for (int s = 0; s < n; ++s) {
      bottom[1]->mutable_cpu_data()[t * n + s] = (t == 0 || (t == 2 && s == 0)) ? 0.f : 1.f;
    }
  }
}

LayerCase RnnCase(const std::string& name, bool expose, bool has_static) {
  const int t_steps = 4, n = 2, in = 3, h = 4;
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'rnn' type: 'RNN' top: 'o' ";
  if (expose) c.prototxt += "top: 'hT' ";
  c.prototxt += "recurrent_param { num_output: 4 " + std::string(kFillers) +
                (expose ? " expose_hidden: true" : "") + " }";
  c.bottom_shapes = {{t_steps, n, in}, {t_steps, n}};
  c.bottoms_to_check = {0};
  if (has_static) {
    c.bottom_shapes.push_back({n, 3});
    c.bottoms_to_check.push_back(2);
  }
  if (expose) {
    c.bottoms_to_check.push_back(static_cast<int>(c.bottom_shapes.size()));
    c.bottom_shapes.push_back({1, n, h});
  }
  c.fill = FillSequence;
  c.reference = CheckRnn;
  return c;
}

std::vector<LayerCase> RnnCases() {
  return {
      RnnCase("Plain", false, false),
      RnnCase("StaticInput", false, true),
      RnnCase("ExposeHidden", true, false),
      RnnCase("StaticAndExposeHidden", true, true),
  };
}

INSTANTIATE_TEST_SUITE_P(Rnn, LayerCaseTest, ::testing::ValuesIn(RnnCases()), LayerCaseName);

TEST(RnnLayerTest, ParameterBlobsInCaffeOrder) {
  Blob x({2, 3, 5}), cont({2, 3}), x_static({3, 4}), o;
  auto layer = MakeLayer("name: 'rnn' type: 'RNN' recurrent_param { num_output: 6 }");
  layer->SetUp({&x, &cont, &x_static}, {&o});
  ASSERT_EQ(6u, layer->blobs().size());
  EXPECT_EQ((std::vector<int>{6, 5}), layer->blobs()[0]->shape());  // W_xh
  EXPECT_EQ(std::vector<int>{6}, layer->blobs()[1]->shape());       // b_h
  EXPECT_EQ((std::vector<int>{6, 4}), layer->blobs()[2]->shape());  // W_xh_static
  EXPECT_EQ((std::vector<int>{6, 6}), layer->blobs()[3]->shape());  // W_hh
  EXPECT_EQ((std::vector<int>{6, 6}), layer->blobs()[4]->shape());  // W_ho
  EXPECT_EQ(std::vector<int>{6}, layer->blobs()[5]->shape());       // b_o
  EXPECT_EQ((std::vector<int>{2, 3, 6}), o.shape());
  auto plain = MakeLayer("name: 'rnn' type: 'RNN' recurrent_param { num_output: 6 }");
  plain->SetUp({&x, &cont}, {&o});
  EXPECT_EQ(5u, plain->blobs().size());
}

// Without expose_hidden the state flows from one Forward into the next.
TEST(RnnLayerTest, StateCarriesAcrossForwards) {
  const std::string proto = "name: 'rnn' type: 'RNN' recurrent_param { num_output: 3 " +
                            std::string(kFillers) + " }";
  Blob x({6, 2, 2}), cont({6, 2}), whole;
  FillGaussian(&x, 0, 1, 4);
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

TEST(RnnLayerTest, BadInputsThrow) {
  Blob x({2, 3, 5}), cont({2, 3}), o, h_t;
  EXPECT_THROW(MakeLayer("name: 'rnn' type: 'RNN'")->SetUp({&x, &cont}, {&o}), Error);
  Blob h0({1, 2, 3});
  EXPECT_THROW(MakeLayer("name: 'rnn' type: 'RNN' recurrent_param { num_output: 3 "
                         "expose_hidden: true }")
                   ->SetUp({&x, &cont, &h0}, {&o, &h_t}),
               Error);
  Blob wrong_static({2, 4});
  EXPECT_THROW(MakeLayer("name: 'rnn' type: 'RNN' recurrent_param { num_output: 3 }")
                   ->SetUp({&x, &cont, &wrong_static}, {&o}),
               Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
