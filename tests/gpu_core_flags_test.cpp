// The core layer types that have CUDA kernels (and Pooling's cuDNN engine)
// say so in their registry flags in CUDA builds, so a net runs them on the
// GPU and each table row's CudaMatchesCpu test checks the kernels.
#include <gtest/gtest.h>

#include "cortado/device.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace testing {
namespace {

TEST(GpuCoreFlagsTest, TypesWithKernelsOfferCuda) {
  if (!CudaBuilt()) GTEST_SKIP() << "skipped: this build has no CUDA backend";
  for (const char* type :
       {"Accuracy", "ArgMax", "BatchNorm", "BatchReindex", "Bias", "Concat", "Crop", "Dropout",
        "Eltwise", "Filter", "Flatten", "LRN", "LSTM", "MVN", "Parameter", "Pooling", "RNN",
        "Reduction", "Reshape", "SPP", "Scale", "Silence", "Slice", "Softmax", "SoftmaxWithLoss",
        "Split", "Tile"}) {
    const unsigned devices = LayerRegistry::Devices(type);
    EXPECT_TRUE(devices & kLayerCpu) << type;
    EXPECT_TRUE(devices & kLayerCuda) << type;
  }
  EXPECT_TRUE(LayerRegistry::Devices("Pooling") & kLayerCudnn);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
