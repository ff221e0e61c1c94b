// Table rows and error checks for the Normalize layer (SSD's L2 norm).
#include <cmath>
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

LayerCase NormalizeCase(const std::string& name, bool across_spatial, bool channel_shared,
                        std::vector<int> shape) {
  LayerCase c;
  c.name = name;
  // A non-uniform scale so a mix-up of channels shows.
  c.prototxt = std::string("name: 'norm' type: 'Normalize' norm_param { across_spatial: ") +
               (across_spatial ? "true" : "false") +
               " channel_shared: " + (channel_shared ? "true" : "false") +
               " scale_filler { type: 'uniform' min: 0.5 max: 3 } eps: 1e-6 }";
  c.bottom_shapes = {shape};
  c.reference = [=](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    ASSERT_EQ(in.shape(), top[0]->shape());
    const float* scale = layer->blobs()[0]->cpu_data();
    ASSERT_EQ(layer->blobs()[0]->count(), channel_shared ? 1 : in.shape(1));
    const int channels = in.shape(1);
    const int64_t spatial = in.count(2);
    std::vector<float> expected(in.count());
    for (int n = 0; n < in.shape(0); ++n) {
      const float* x = in.cpu_data() + n * channels * spatial;
      for (int64_t s = 0; s < spatial; ++s) {
        double sum = 1e-6;
        for (int cc = 0; cc < channels; ++cc) {
          for (int64_t t = 0; t < spatial; ++t) {
            if (across_spatial || t == s) sum += double(x[cc * spatial + t]) * x[cc * spatial + t];
          }
        }
        for (int cc = 0; cc < channels; ++cc) {
          expected[(n * channels + cc) * spatial + s] = static_cast<float>(
              scale[channel_shared ? 0 : cc] * x[cc * spatial + s] / std::sqrt(sum));
        }
      }
    }
    ExpectBlobNear(expected, *top[0], 1e-5f);
  };
  c.gradient.stepsize = 1e-3f;
  return c;
}

std::vector<LayerCase> NormalizeCases() {
  return {
      NormalizeCase("AcrossSpatialShared", true, true, {2, 3, 2, 3}),
      NormalizeCase("AcrossSpatialPerChannel", true, false, {2, 3, 2, 2}),
      NormalizeCase("PerPositionShared", false, true, {2, 4, 2, 3}),
      NormalizeCase("PerPositionPerChannel", false, false, {2, 3, 3, 2}),
  };
}

INSTANTIATE_TEST_SUITE_P(Normalize, LayerCaseTest, ::testing::ValuesIn(NormalizeCases()),
                         LayerCaseName);

TEST(NormalizeLayerTest, DefaultScaleIsOneAndSharedScaleIsAScalar) {
  Blob x({1, 2, 1, 1}), y;
  x.mutable_cpu_data()[0] = 3;
  x.mutable_cpu_data()[1] = 4;
  auto layer = MakeLayer("name: 'n' type: 'Normalize'");
  layer->SetUp({&x}, {&y});
  EXPECT_EQ(layer->blobs()[0]->num_axes(), 0);
  layer->Forward({&x}, {&y});
  ExpectBlobNear({0.6f, 0.8f}, y, 1e-6f);
}

TEST(NormalizeLayerTest, WrongScaleBlobThrows) {
  Blob x({1, 3, 2, 2}), y;
  caffe::LayerParameter param;
  param.set_name("n");
  param.set_type("Normalize");
  param.mutable_norm_param()->set_channel_shared(false);
  caffe::BlobProto* blob = param.add_blobs();  // one value, but three channels
  blob->mutable_shape()->add_dim(1);
  blob->add_data(1.f);
  auto layer = MakeLayer(param.DebugString());
  EXPECT_THROW(layer->SetUp({&x}, {&y}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
