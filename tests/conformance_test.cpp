// Every net and solver prototxt written by others (../shared/conformance)
// parses, and every net whose inputs need no data source and whose layer
// types are all registered builds.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/net.hpp"
#include "cortado/upgrade.hpp"
#include "conformance_dir.hpp"

namespace cortado {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Prototxts(bool solvers) {
  std::vector<std::string> files;
  const fs::path root = testing::ConformanceRoot();
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".prototxt") continue;
    if ((name.find("solver") != std::string::npos) == solvers) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ConformanceTest, TheConformanceSetIsPresent) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  EXPECT_GE(Prototxts(false).size(), 30u);
  EXPECT_GE(Prototxts(true).size(), 20u);
}

TEST(ConformanceTest, EveryNetPrototxtParsesAndUpgrades) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  int legacy = 0;
  for (const std::string& path : Prototxts(false)) {
    caffe::NetParameter raw;
    EXPECT_NO_THROW(ReadProtoFromTextFile(path, &raw)) << path;
    legacy += raw.layers_size() > 0;
    caffe::NetParameter param;
    EXPECT_NO_THROW(ReadNetParamsFromTextFile(path, &param)) << path;
    EXPECT_GT(param.layer_size(), 0) << path;
    EXPECT_EQ(param.layers_size(), 0) << path;
    EXPECT_FALSE(NetNeedsUpgrade(param)) << path;
  }
  EXPECT_GE(legacy, 1) << "the conformance set should include a V1 net";
}

TEST(ConformanceTest, EverySolverPrototxtParses) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  for (const std::string& path : Prototxts(true)) {
    caffe::SolverParameter param;
    EXPECT_NO_THROW(ReadSolverParamsFromTextFile(path, &param)) << path;
    EXPECT_FALSE(param.type().empty()) << path;
  }
}

// Data-reading layers need sources the conformance set does not have.
bool NeedsDataSource(const std::string& type) {
  return type == "Data" || type == "ImageData" || type == "HDF5Data" || type == "WindowData" ||
         type == "MemoryData" || type == "Python";
}

TEST(ConformanceTest, SelfContainedNetsWithKnownLayersBuild) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  int built = 0;
  for (const std::string& path : Prototxts(false)) {
    caffe::NetParameter param;
    ReadNetParamsFromTextFile(path, &param);
    bool buildable = true;
    for (const auto& layer : param.layer()) {
      if (!LayerRegistry::Has(layer.type()) || NeedsDataSource(layer.type())) buildable = false;
    }
    if (!buildable) continue;
    for (caffe::Phase phase : {caffe::TRAIN, caffe::TEST}) {
      SCOPED_TRACE(path);
      EXPECT_NO_THROW({
        Net net(path, phase);
        float loss;
        net.Forward(&loss);
      });
    }
    ++built;
  }
  // LeNet, CIFAR-10 quick/full, CaffeNet, AlexNet, GoogLeNet, R-CNN deploy nets...
  EXPECT_GE(built, 5) << "too few conformance nets built";
  std::printf("[conformance] %d self-contained nets built and ran forward\n", built);
}

}  // namespace
}  // namespace cortado
