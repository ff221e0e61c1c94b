// Runs every row of the layer table: set-up, forward vs reference, gradients.
#include "layer_case.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <google/protobuf/text_format.h>

#include "cortado/layer_registry.hpp"

namespace cortado {
namespace testing {

void FillGaussian(Blob* blob, float mean, float stddev, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, stddev);
  float* data = blob->mutable_cpu_data();
  for (int64_t i = 0; i < blob->count(); ++i) data[i] = dist(rng);
}

void FillUniform(Blob* blob, float low, float high, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  float* data = blob->mutable_cpu_data();
  for (int64_t i = 0; i < blob->count(); ++i) data[i] = dist(rng);
}

void FillLabels(Blob* blob, int classes, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, classes - 1);
  float* data = blob->mutable_cpu_data();
  for (int64_t i = 0; i < blob->count(); ++i) data[i] = static_cast<float>(dist(rng));
}

std::unique_ptr<Layer> MakeLayer(const std::string& prototxt, caffe::Phase phase) {
  caffe::LayerParameter param;
  if (!google::protobuf::TextFormat::ParseFromString(prototxt, &param)) {
    ADD_FAILURE() << "bad layer prototxt in test table: " << prototxt;
    return nullptr;
  }
  param.set_phase(phase);
  return LayerRegistry::Create(param);
}

void ExpectBlobNear(const std::vector<float>& expected, const Blob& actual,
                    float tolerance) {
  ASSERT_EQ(static_cast<int64_t>(expected.size()), actual.count())
      << "shape " << actual.shape_string();
  const float* data = actual.cpu_data();
  for (size_t i = 0; i < expected.size(); ++i) {
    float scale = std::max(1.f, std::fabs(expected[i]));
    ASSERT_NEAR(expected[i], data[i], tolerance * scale) << "element " << i;
  }
}

TEST_P(LayerCaseTest, ForwardAndGradient) {
  const LayerCase& c = GetParam();
  ASSERT_TRUE(static_cast<bool>(c.reference)) << "every row needs a reference";
  std::vector<std::unique_ptr<Blob>> bottom_storage;
  BlobVec bottom;
  for (size_t i = 0; i < c.bottom_shapes.size(); ++i) {
    bottom_storage.push_back(std::make_unique<Blob>(c.bottom_shapes[i]));
    bottom.push_back(bottom_storage.back().get());
  }
  if (c.fill) {
    c.fill(bottom);
  } else {
    for (size_t i = 0; i < bottom.size(); ++i) FillGaussian(bottom[i], 0, 1, 100 + i);
  }
  auto layer = MakeLayer(c.prototxt, c.phase);
  ASSERT_NE(layer, nullptr);
  // Layers without tops (Silence) declare ExactNumTopBlobs() == 0.
  int tops = layer->ExactNumTopBlobs() == 0
                 ? 0
                 : std::max<int>({layer->ExactNumTopBlobs(), layer->MinTopBlobs(), 1});
  caffe::LayerParameter param;
  google::protobuf::TextFormat::ParseFromString(c.prototxt, &param);
  if (param.top_size() > 0) tops = param.top_size();
  std::vector<std::unique_ptr<Blob>> top_storage;
  BlobVec top;
  for (int i = 0; i < tops; ++i) {
    top_storage.push_back(std::make_unique<Blob>());
    top.push_back(top_storage.back().get());
  }
  layer->SetUp(bottom, top);
  layer->Forward(bottom, top);
  c.reference(layer.get(), bottom, top);
  if (c.check_gradient) {
    CheckGradient(layer.get(), bottom, top, c.gradient, c.bottoms_to_check);
  }
}

}  // namespace testing
}  // namespace cortado
