// Tests of the ScaledTanh plugin as a user would run it: the .so is loaded
// through LoadPlugin, the layer comes from the registry, and Cortado's shared
// gradient checker (tests/gradient_checker.cpp) checks its gradients on the
// CPU and, when a GPU is present, on the GPU after a CUDA-vs-CPU comparison.
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "cortado/layer_registry.hpp"
#include "cortado/plugin.hpp"
#include "gradient_checker.hpp"

namespace {

using cortado::Blob;

std::string g_plugin_path;  // argv[1]

std::unique_ptr<cortado::Layer> MakeScaledTanh(const std::string& extra = "") {
  caffe::LayerParameter param;
  const std::string text = "name: 'st' type: 'ScaledTanh' " + extra;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &param)) << text;
  return cortado::LayerRegistry::Create(param);
}

void FillGaussian(Blob* blob, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0, 1);
  float* x = blob->mutable_cpu_data();
  for (int64_t i = 0; i < blob->count(); ++i) x[i] = gauss(rng);
}

TEST(ScaledTanhPlugin, RegisteredWithItsOrigin) {
  ASSERT_TRUE(cortado::LayerRegistry::Has("ScaledTanh"));
  EXPECT_EQ(g_plugin_path, cortado::LayerOrigin("ScaledTanh"));
  EXPECT_EQ("built-in", cortado::LayerOrigin("ReLU"));
}

TEST(ScaledTanhPlugin, ForwardIsScaleTimesTanhPerChannel) {
  Blob x({2, 3, 4, 5}), y;
  FillGaussian(&x, 1);
  auto layer = MakeScaledTanh("scale_param { filler { type: 'uniform' min: -2 max: 2 } }");
  layer->SetUp({&x}, {&y});
  ASSERT_EQ(1u, layer->blobs().size());
  ASSERT_EQ(std::vector<int>{3}, layer->blobs()[0]->shape());
  layer->Forward({&x}, {&y});
  ASSERT_EQ(x.shape(), y.shape());
  const float* scale = layer->blobs()[0]->cpu_data();
  for (int64_t i = 0; i < x.count(); ++i) {
    const float expected = scale[(i / 20) % 3] * std::tanh(x.cpu_data()[i]);
    EXPECT_NEAR(expected, y.cpu_data()[i], 1e-6f * (1 + std::fabs(expected))) << i;
  }
}

TEST(ScaledTanhPlugin, DefaultScalesAreOne) {
  Blob x({1, 4, 2}), y;
  auto layer = MakeScaledTanh();
  layer->SetUp({&x}, {&y});
  for (int c = 0; c < 4; ++c) EXPECT_EQ(1.0f, layer->blobs()[0]->cpu_data()[c]);
}

TEST(ScaledTanhPlugin, RefusesToRunInPlace) {
  Blob x({2, 3});
  auto layer = MakeScaledTanh();
  EXPECT_THROW(layer->SetUp({&x}, {&x}), cortado::Error);
}

// Data and scale gradients against finite differences, every element.
TEST(ScaledTanhPlugin, GradientsMatchFiniteDifferences) {
  Blob x({2, 3, 3, 2}), y;
  FillGaussian(&x, 2);
  auto layer = MakeScaledTanh("scale_param { filler { type: 'gaussian' std: 1 } }");
  layer->SetUp({&x}, {&y});
  cortado::testing::GradientCheckOptions options;
  options.exhaustive = true;
  cortado::testing::CheckGradient(layer.get(), {&x}, {&y}, options);
}

TEST(ScaledTanhPlugin, CudaMatchesCpu) {
  if (cortado::CudaDeviceCount() == 0) {
    GTEST_SKIP() << "skipped: no GPU (" << cortado::CudaUnavailableReason() << ")";
  }
  Blob x_cpu({3, 4, 5, 6}), y_cpu, x_gpu({3, 4, 5, 6}), y_gpu;
  FillGaussian(&x_cpu, 3);
  FillGaussian(&x_gpu, 3);
  const std::string filler = "scale_param { filler { type: 'constant' value: 0.7 } }";
  auto cpu = MakeScaledTanh(filler);
  auto gpu = MakeScaledTanh(filler);
  ASSERT_TRUE(gpu->devices() & cortado::kLayerCuda) << "the plugin was built without CUDA";
  cpu->SetUp({&x_cpu}, {&y_cpu});
  gpu->SetUp({&x_gpu}, {&y_gpu});
  gpu->SetDevice(cortado::Device::Cuda(0));
  ASSERT_TRUE(gpu->runs_on_cuda());
  cpu->Forward({&x_cpu}, {&y_cpu});
  gpu->Forward({&x_gpu}, {&y_gpu});
  FillGaussian(&y_cpu, 4);  // random top gradients, the same on both sides
  for (Blob* y : {&y_cpu, &y_gpu}) {
    float* diff = y->mutable_cpu_diff();
    for (int64_t i = 0; i < y->count(); ++i) diff[i] = std::sin(0.37f * i);
  }
  for (auto* layer : {cpu.get(), gpu.get()}) {
    float* d = layer->blobs()[0]->mutable_cpu_diff();
    for (int c = 0; c < 4; ++c) d[c] = 0;
  }
  cpu->Forward({&x_cpu}, {&y_cpu});
  gpu->Forward({&x_gpu}, {&y_gpu});
  for (int64_t i = 0; i < y_cpu.count(); ++i) {
    EXPECT_NEAR(y_cpu.cpu_data()[i], y_gpu.cpu_data()[i], 1e-5f) << "top " << i;
  }
  cpu->Backward({&y_cpu}, {true}, {&x_cpu});
  gpu->Backward({&y_gpu}, {true}, {&x_gpu});
  for (int64_t i = 0; i < x_cpu.count(); ++i) {
    EXPECT_NEAR(x_cpu.cpu_diff()[i], x_gpu.cpu_diff()[i], 1e-5f) << "bottom diff " << i;
  }
  for (int c = 0; c < 4; ++c) {
    const float expected = cpu->blobs()[0]->cpu_diff()[c];
    EXPECT_NEAR(expected, gpu->blobs()[0]->cpu_diff()[c], 1e-4f * (1 + std::fabs(expected)))
        << "scale diff " << c;
  }
  cortado::testing::CheckGradient(gpu.get(), {&x_gpu}, {&y_gpu});
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s [gtest flags] path/to/libscaled_tanh.so\n", argv[0]);
    return 2;
  }
  g_plugin_path = argv[1];
  cortado::LoadPlugin(g_plugin_path);
  return RUN_ALL_TESTS();
}
