// Device selection: no GPU is an answer, not a crash; asking for a missing
// GPU is a clear error; nets and the tool honour the device they are given.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "cortado/device.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/net.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the cortado tool; returns its exit status and fills *output.
int RunCortado(const std::string& args, std::string* output) {
  const std::string log = ::testing::TempDir() + "cortado_device_test.log";
  const std::string command = std::string(CORTADO_TOOL_PATH) + " " + args + " > " + log + " 2>&1";
  const int status = std::system(command.c_str());
  *output = ReadFile(log);
  return status;
}

TEST(DeviceTest, NamesDevices) {
  EXPECT_EQ(Device::Cpu().ToString(), "CPU");
  EXPECT_EQ(Device::Cuda(1).ToString(), "GPU 1");
  EXPECT_TRUE(Device::Cuda(0).is_cuda());
  EXPECT_FALSE(Device().is_cuda());
  EXPECT_NE(Device::Cuda(0), Device::Cuda(1));
}

TEST(DeviceTest, CountIsAnAnswerWithAReason) {
  const int count = CudaDeviceCount();
  ASSERT_GE(count, 0);
  if (count == 0) {
    EXPECT_FALSE(CudaUnavailableReason().empty());
  } else {
    EXPECT_TRUE(CudaBuilt());
    EXPECT_TRUE(CudaUnavailableReason().empty());
  }
}

TEST(DeviceTest, MissingGpuIsAClearError) {
  const int missing = CudaDeviceCount();  // one past the last GPU
  try {
    ActivateDevice(Device::Cuda(missing));
    FAIL() << "GPU " << missing << " should not exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("GPU " + std::to_string(missing)), std::string::npos)
        << e.what();
  }
  auto layer = MakeLayer("name: 'r' type: 'ReLU'");
  EXPECT_THROW(layer->SetDevice(Device::Cuda(missing)), Error);
  EXPECT_FALSE(layer->runs_on_cuda());
}

TEST(DeviceTest, CpuDeviceRunsOnCpu) {
  caffe::NetParameter param;
  param.add_input("x");
  auto* shape = param.add_input_shape();
  shape->add_dim(2);
  shape->add_dim(3);
  auto* relu = param.add_layer();
  relu->set_name("relu");
  relu->set_type("ReLU");
  relu->add_bottom("x");
  relu->add_top("y");
  Net net(param);
  net.SetDevice(Device::Cpu());
  EXPECT_FALSE(net.device().is_cuda());
  float* x = net.blob_by_name("x")->mutable_cpu_data();
  for (int i = 0; i < 6; ++i) x[i] = i - 3.f;
  net.Forward();
  EXPECT_FALSE(net.layers()[0]->runs_on_cuda());
  EXPECT_EQ(net.blob_by_name("y")->cpu_data()[0], 0.f);
  EXPECT_EQ(net.blob_by_name("y")->cpu_data()[5], 2.f);
}

TEST(DeviceTest, RegistryFlagsFollowTheBuild) {
  for (const std::string& type : LayerRegistry::Types()) {
    const unsigned devices = LayerRegistry::Devices(type);
    EXPECT_TRUE(devices & kLayerCpu) << type;
    if (!CudaBuilt()) EXPECT_FALSE(devices & (kLayerCuda | kLayerCudnn)) << type;
    auto layer_param = caffe::LayerParameter();
    layer_param.set_type(type);
    layer_param.set_name("probe");
    EXPECT_EQ(LayerRegistry::Create(layer_param)->devices(), devices) << type;
  }
}

TEST(DeviceTest, ToolRejectsGpuFlagsItCannotHonour) {
  std::string output;
  EXPECT_NE(RunCortado("time --model=x.prototxt --gpu=zero", &output), 0);
  EXPECT_NE(output.find("'zero' is not a GPU id"), std::string::npos) << output;
  if (CudaDeviceCount() == 0) {
    const std::string model = std::string(CORTADO_SOURCE_DIR) + "/models/lenet/lenet.prototxt";
    EXPECT_NE(RunCortado("time --model=" + model + " --gpu=0", &output), 0);
    EXPECT_NE(output.find("no GPU is usable"), std::string::npos) << output;
    EXPECT_EQ(RunCortado("device_query", &output), 0) << output;
    EXPECT_NE(output.find("GPUs: 0"), std::string::npos) << output;
  } else {
    EXPECT_EQ(RunCortado("device_query --gpu=0", &output), 0) << output;
    EXPECT_NE(output.find("Compute capability"), std::string::npos) << output;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
