// Every layer type with CUDA kernels (a src/layers/<name>.cu beside the
// <name>.cpp that registers it, or a NeuronLayer, whose kernels are in
// neuron_layers.cu) says so in its registry flags in CUDA
// builds: a net then runs it on the GPU, and each table row's CudaMatchesCpu
// test checks the kernels instead of reporting "no CUDA kernels yet". The list
// comes from the source tree, so a new kernel file cannot be forgotten here.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/device.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace testing {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The types registered (CORTADO_REGISTER_LAYER(Type, Class)) by .cpp files
// in src/layers that have a .cu of the same name or are NeuronLayers.
std::vector<std::string> TypesWithKernelFiles() {
  const fs::path layers = fs::path(CORTADO_SOURCE_DIR) / "src" / "layers";
  const std::regex registration(R"(CORTADO_REGISTER_LAYER\(\s*(\w+)\s*,)");
  std::vector<std::string> types;
  for (const auto& entry : fs::directory_iterator(layers)) {
    if (entry.path().extension() != ".cpp") continue;
    const std::string text = ReadFile(entry.path());
    const bool has_kernel_file = fs::exists(fs::path(entry.path()).replace_extension(".cu"));
    const bool is_neuron = text.find("NeuronLayer<") != std::string::npos;
    if (!has_kernel_file && !is_neuron) continue;
    for (std::sregex_iterator it(text.begin(), text.end(), registration), end; it != end; ++it) {
      types.push_back((*it)[1]);
    }
  }
  std::sort(types.begin(), types.end());
  return types;
}

TEST(GpuElementwiseFlagsTest, TypesWithKernelsOfferCuda) {
  const std::vector<std::string> types = TypesWithKernelFiles();
  // The scan itself must work: these all have kernel files.
  for (const char* known : {"AbsVal", "Sigmoid", "TanH", "ReLU", "Dropout", "Upsample", "Pooling"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), known), types.end()) << known;
  }
  EXPECT_GE(types.size(), 30u);
  for (const std::string& type : types) EXPECT_TRUE(LayerRegistry::Has(type)) << type;
  if (!CudaBuilt()) GTEST_SKIP() << "skipped: this build has no CUDA backend";
  for (const std::string& type : types) {
    const unsigned devices = LayerRegistry::Devices(type);
    EXPECT_TRUE(devices & kLayerCpu) << type;
    EXPECT_TRUE(devices & kLayerCuda) << type << " has CUDA kernels but does not offer CUDA";
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
