// Runs every row of the layer table: set-up, forward vs reference, gradients.
#include "layer_case.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <google/protobuf/text_format.h>

#include "cortado/device.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/rng.hpp"

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

namespace {

// One row's layer with its own bottoms and tops, filled as the row says.
struct CaseInstance {
  std::vector<std::unique_ptr<Blob>> bottom_storage, top_storage;
  BlobVec bottom, top;
  std::unique_ptr<Layer> layer;
};

void Instantiate(const LayerCase& c, CaseInstance* out) {
  for (size_t i = 0; i < c.bottom_shapes.size(); ++i) {
    out->bottom_storage.push_back(std::make_unique<Blob>(c.bottom_shapes[i]));
    out->bottom.push_back(out->bottom_storage.back().get());
  }
  if (c.fill) {
    c.fill(out->bottom);
  } else {
    for (size_t i = 0; i < out->bottom.size(); ++i) FillGaussian(out->bottom[i], 0, 1, 100 + i);
  }
  // Fillers draw from the global RNG: the same seed gives every instance of
  // a row the same parameters.
  SetRandomSeed(4321);
  out->layer = MakeLayer(c.prototxt, c.phase);
  ASSERT_NE(out->layer, nullptr);
  // Layers without tops (Silence) declare ExactNumTopBlobs() == 0.
  int tops = out->layer->ExactNumTopBlobs() == 0
                 ? 0
                 : std::max<int>({out->layer->ExactNumTopBlobs(), out->layer->MinTopBlobs(), 1});
  caffe::LayerParameter param;
  google::protobuf::TextFormat::ParseFromString(c.prototxt, &param);
  if (param.top_size() > 0) tops = param.top_size();
  for (int i = 0; i < tops; ++i) {
    out->top_storage.push_back(std::make_unique<Blob>());
    out->top.push_back(out->top_storage.back().get());
  }
  out->layer->SetUp(out->bottom, out->top);
}

// |a - b| <= tolerance * max(1, |a|), element by element, naming the blob.
void ExpectSame(const Blob& expected, const Blob& actual, bool diff, const std::string& what,
                float tolerance) {
  ASSERT_EQ(expected.shape(), actual.shape()) << what;
  const float* a = diff ? expected.cpu_diff() : expected.cpu_data();
  const float* b = diff ? actual.cpu_diff() : actual.cpu_data();
  for (int64_t i = 0; i < expected.count(); ++i) {
    ASSERT_NEAR(a[i], b[i], tolerance * std::max(1.f, std::fabs(a[i])))
        << what << " element " << i;
  }
}

}  // namespace

TEST_P(LayerCaseTest, ForwardAndGradient) {
  const LayerCase& c = GetParam();
  ASSERT_TRUE(static_cast<bool>(c.reference)) << "every row needs a reference";
  CaseInstance cpu;
  ASSERT_NO_FATAL_FAILURE(Instantiate(c, &cpu));
  cpu.layer->Forward(cpu.bottom, cpu.top);
  c.reference(cpu.layer.get(), cpu.bottom, cpu.top);
  if (c.check_gradient) {
    CheckGradient(cpu.layer.get(), cpu.bottom, cpu.top, c.gradient, c.bottoms_to_check);
  }
}

// The same row on the GPU: forward and backward agree with the CPU within
// 1e-4 relative, then the gradient checker runs on the GPU layer.
TEST_P(LayerCaseTest, CudaMatchesCpu) {
  if (CudaDeviceCount() == 0) {
    GTEST_SKIP() << "skipped: no GPU (" << CudaUnavailableReason() << ")";
  }
  const LayerCase& c = GetParam();
  CaseInstance cpu, gpu;
  ASSERT_NO_FATAL_FAILURE(Instantiate(c, &cpu));
  ASSERT_NO_FATAL_FAILURE(Instantiate(c, &gpu));
  if (!(gpu.layer->devices() & kLayerCuda)) {
    GTEST_SKIP() << "skipped: layer type " << gpu.layer->type() << " has no CUDA kernels yet";
  }
  gpu.layer->SetDevice(Device::Cuda(0));
  ASSERT_TRUE(gpu.layer->runs_on_cuda());
  for (size_t i = 0; i < cpu.layer->blobs().size(); ++i) {
    ExpectSame(*cpu.layer->blobs()[i], *gpu.layer->blobs()[i], false, "initial parameter", 0);
  }
  // Stochastic layers draw from the host RNG on both devices.
  SetRandomSeed(77);
  cpu.layer->Forward(cpu.bottom, cpu.top);
  SetRandomSeed(77);
  gpu.layer->Forward(gpu.bottom, gpu.top);
  for (size_t i = 0; i < cpu.top.size(); ++i) {
    ExpectSame(*cpu.top[i], *gpu.top[i], false, StrCat("top ", i), 1e-4f);
  }
  if (!c.check_gradient) return;
  // Random top gradients, identical on both sides.
  for (size_t i = 0; i < cpu.top.size(); ++i) {
    FillGaussian(cpu.top[i], 0, 1, 900 + i);  // fills data; move it to diff
    Copy(cpu.top[i]->count(), cpu.top[i]->cpu_data(), cpu.top[i]->mutable_cpu_diff());
    Copy(cpu.top[i]->count(), cpu.top[i]->cpu_diff(), gpu.top[i]->mutable_cpu_diff());
  }
  SetRandomSeed(77);
  cpu.layer->Forward(cpu.bottom, cpu.top);
  SetRandomSeed(77);
  gpu.layer->Forward(gpu.bottom, gpu.top);
  // Only the bottoms the row checks get a gradient: others (indices,
  // labels) may refuse one.
  const std::vector<int>& checked = c.bottoms_to_check;
  std::vector<bool> propagate(cpu.bottom.size());
  for (size_t i = 0; i < cpu.bottom.size(); ++i) {
    propagate[i] = c.gradient.check_bottoms &&
                   (checked.empty() || std::find(checked.begin(), checked.end(), int(i)) !=
                                           checked.end());
  }
  for (const std::unique_ptr<Layer>* l : {&cpu.layer, &gpu.layer}) {
    for (auto& blob : (*l)->blobs()) Set(blob->count(), 0.f, blob->mutable_cpu_diff());
  }
  cpu.layer->Backward(cpu.top, propagate, cpu.bottom);
  gpu.layer->Backward(gpu.top, propagate, gpu.bottom);
  for (size_t i = 0; i < cpu.bottom.size(); ++i) {
    if (!propagate[i]) continue;
    ExpectSame(*cpu.bottom[i], *gpu.bottom[i], true, StrCat("bottom diff ", i), 1e-4f);
  }
  for (size_t i = 0; i < cpu.layer->blobs().size(); ++i) {
    if (!cpu.layer->param_propagate_down(i)) continue;
    ExpectSame(*cpu.layer->blobs()[i], *gpu.layer->blobs()[i], true, StrCat("param diff ", i),
               1e-4f);
  }
  CheckGradient(gpu.layer.get(), gpu.bottom, gpu.top, c.gradient, c.bottoms_to_check);
}

}  // namespace testing
}  // namespace cortado
