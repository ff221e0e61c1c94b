// Table rows, parameter set-up and in-place checks for the PReLU layer.
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Naive reference with the layer's own slopes (blob 0).
void PreluReference(Layer* layer, const BlobVec& bottom, const BlobVec& top) {
  ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
  const Blob& slopes = *layer->blobs()[0];
  const int channels = bottom[0]->shape(1);
  const int64_t dim = bottom[0]->count(2);
  std::vector<float> expected(bottom[0]->count());
  const float* x = bottom[0]->cpu_data();
  for (size_t i = 0; i < expected.size(); ++i) {
    const int c = static_cast<int>((i / dim) % channels);
    const float a = slopes.count() == 1 ? slopes.cpu_data()[0] : slopes.cpu_data()[c];
    expected[i] = x[i] > 0 ? x[i] : a * x[i];
  }
  ExpectBlobNear(expected, *top[0], 1e-6f);
}

LayerCase PreluCase(const char* name, const std::string& params,
                    std::vector<int> shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'prelu' type: 'PReLU' " + params;
  c.bottom_shapes = {shape};
  c.reference = PreluReference;
  c.gradient.kink = 0;
  c.gradient.kink_range = 0.02f;
  return c;
}

std::vector<LayerCase> PreluCases() {
  return {
      PreluCase("Default", "", {2, 3, 4, 5}),
      PreluCase("ChannelShared", "prelu_param { channel_shared: true }", {2, 3, 4, 5}),
      PreluCase("GaussianSlopes", "prelu_param { filler { type: 'gaussian' std: 0.5 } }",
                {2, 4, 3, 2}),
      PreluCase("TwoAxes", "prelu_param { filler { type: 'uniform' min: -1 max: 1 } }",
                {5, 6}),
  };
}

INSTANTIATE_TEST_SUITE_P(Prelu, LayerCaseTest, ::testing::ValuesIn(PreluCases()),
                         LayerCaseName);

TEST(PreluLayerTest, DefaultSlopesAreAQuarterPerChannel) {
  Blob x({2, 3, 4}), y;
  auto layer = MakeLayer("name: 'p' type: 'PReLU'");
  layer->SetUp({&x}, {&y});
  ASSERT_EQ(1u, layer->blobs().size());
  EXPECT_EQ(std::vector<int>{3}, layer->blobs()[0]->shape());
  for (int c = 0; c < 3; ++c) EXPECT_EQ(0.25f, layer->blobs()[0]->cpu_data()[c]);
  auto shared = MakeLayer("name: 'p' type: 'PReLU' prelu_param { channel_shared: true }");
  shared->SetUp({&x}, {&y});
  EXPECT_EQ(0, shared->blobs()[0]->num_axes());
  EXPECT_EQ(1, shared->blobs()[0]->count());
}

TEST(PreluLayerTest, OneAxisBottomThrows) {
  Blob x({4}), y;
  auto layer = MakeLayer("name: 'p' type: 'PReLU'");
  EXPECT_THROW(layer->SetUp({&x}, {&y}), Error);
}

// In place must give the same output, data gradient and slope gradient as
// a separate top.
TEST(PreluLayerTest, InPlaceMatchesSeparateTop) {
  const std::vector<int> shape = {2, 3, 2, 2};
  const std::string proto = "name: 'p' type: 'PReLU' prelu_param { filler { type: 'uniform' } }";
  Blob x({2, 3, 2, 2}), y, dy_source({2, 3, 2, 2});
  FillGaussian(&x, 0, 1, 29);
  FillGaussian(&dy_source, 0, 1, 30);
  std::vector<float> xs(x.cpu_data(), x.cpu_data() + x.count());
  std::vector<float> dys(dy_source.cpu_data(), dy_source.cpu_data() + x.count());

  auto separate = MakeLayer(proto);
  separate->SetUp({&x}, {&y});
  separate->Forward({&x}, {&y});
  std::copy(dys.begin(), dys.end(), y.mutable_cpu_diff());
  std::fill_n(separate->blobs()[0]->mutable_cpu_diff(), 3, 0.f);
  separate->Backward({&y}, {true}, {&x});

  auto in_place = MakeLayer(proto);
  std::vector<float> y2, dx2;
  Blob probe(shape);
  BlobVec probe_vec = {&probe};
  in_place->SetUp(probe_vec, probe_vec);
  // Same slopes as the separate layer.
  std::copy_n(separate->blobs()[0]->cpu_data(), 3, in_place->blobs()[0]->mutable_cpu_data());
  std::fill_n(in_place->blobs()[0]->mutable_cpu_diff(), 3, 0.f);
  std::copy(xs.begin(), xs.end(), probe.mutable_cpu_data());
  in_place->Forward(probe_vec, probe_vec);
  ExpectBlobNear(std::vector<float>(y.cpu_data(), y.cpu_data() + y.count()), probe, 1e-6f);
  std::copy(dys.begin(), dys.end(), probe.mutable_cpu_diff());
  in_place->Backward(probe_vec, {true}, probe_vec);
  for (int64_t i = 0; i < x.count(); ++i) {
    EXPECT_NEAR(x.cpu_diff()[i], probe.cpu_diff()[i], 1e-6) << i;
  }
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(separate->blobs()[0]->cpu_diff()[c], in_place->blobs()[0]->cpu_diff()[c],
                1e-5)
        << c;
    EXPECT_NE(0.f, in_place->blobs()[0]->cpu_diff()[c]);
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
