// The activation, loss and data-movement layer types that have CUDA kernels
// say so in their registry flags in CUDA builds: a net then runs them on the
// GPU, and each table row's CudaMatchesCpu test checks the kernels instead of
// reporting "no CUDA kernels yet".
#include <gtest/gtest.h>

#include "cortado/device.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace testing {
namespace {

TEST(GpuElementwiseFlagsTest, TypesWithKernelsOfferCuda) {
  if (!CudaBuilt()) GTEST_SKIP() << "skipped: this build has no CUDA backend";
  for (const char* type :
       {"AbsVal", "BNLL", "Clip", "ContrastiveLoss", "ELU", "EuclideanLoss", "Exp", "HingeLoss",
        "InfogainLoss", "Interp", "LSTMUnit", "Log", "MultinomialLogisticLoss", "Normalize",
        "PReLU", "Permute", "Power", "ShuffleChannel", "Sigmoid", "SigmoidCrossEntropyLoss",
        "Swish", "TanH", "Threshold", "Upsample"}) {
    const unsigned devices = LayerRegistry::Devices(type);
    EXPECT_TRUE(devices & kLayerCpu) << type;
    EXPECT_TRUE(devices & kLayerCuda) << type;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
