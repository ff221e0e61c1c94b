// Every net prototxt of the conformance set (../shared/conformance) builds and
// runs forward and backward on the CPU, in both phases, with missing data
// sources stubbed by Input layers. A net using a layer type Cortado does not
// have yet is reported as skipped, naming the type.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/device.hpp"
#include "cortado/io.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/net.hpp"
#include "cortado/rng.hpp"
#include "cortado/stub_data.hpp"
#include "conformance_dir.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace {

namespace fs = std::filesystem;

const fs::path kRoot = testing::ConformanceRoot();

struct RunCase {
  std::string path;  // relative to kRoot
  caffe::Phase phase;
};

// Without the conformance set, one placeholder case that skips saying so:
// the list is built before main, where a throw would kill the test binary.
std::vector<RunCase> Cases() {
  if (!testing::HaveConformanceSet()) return {{"", caffe::TRAIN}};
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(kRoot)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".prototxt" && name.find("solver") == std::string::npos) {
      files.push_back(fs::relative(entry.path(), kRoot).string());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<RunCase> cases;
  for (const auto& file : files) {
    cases.push_back({file, caffe::TRAIN});
    cases.push_back({file, caffe::TEST});
  }
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<RunCase>& info) {
  std::string name = info.param.path.empty() ? "ConformanceSetMissing" : info.param.path;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name + (info.param.phase == caffe::TRAIN ? "_TRAIN" : "_TEST");
}

// Item shapes the data layers of these nets do not declare (they come from
// the LMDB or HDF5 files the examples would have created).
std::map<std::string, std::vector<int>> ItemShapes(const std::string& path) {
  if (path.find("mnist_siamese") != std::string::npos) return {{"pair_data", {2, 28, 28}}};
  if (path.find("mnist") != std::string::npos) return {{"data", {1, 28, 28}}};
  if (path.find("cifar10") != std::string::npos) return {{"data", {3, 32, 32}}};
  if (path.find("hdf5_classification") != std::string::npos) return {{"data", {4}}};
  return {};
}

constexpr int kBatch = 2;  // keeps ImageNet-sized nets quick

class ConformanceRunTest : public ::testing::TestWithParam<RunCase> {};

// Reads the case's net, stubs its data layers and shrinks its batch; returns
// false (after printing why) when the net needs a type or module we lack.
bool PrepareNet(const RunCase& c, caffe::NetParameter* out, size_t* stubbed_count) {
  const std::string path = (kRoot / c.path).string();
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(path, &param);
  param.mutable_state()->set_phase(c.phase);
  // The autoencoder's TEST data layers exist only under one of two stages
  // (its solver picks them); in Caffe too it needs one to build.
  if (c.phase == caffe::TEST && c.path.find("mnist_autoencoder") != std::string::npos) {
    param.mutable_state()->add_stage("test-on-test");
  }

  // Data layers without their data become Input layers first, so a data
  // layer's missing source (an HDF5 list, a window file) does not block the net.
  StubDataOptions options;
  options.item_shapes = ItemShapes(c.path);
  options.batch_size = kBatch;
  *stubbed_count = StubDataSources(&param, options).size();
  // Deploy nets' own inputs shrink to the same batch.
  CapInputBatch(&param, kBatch);

  caffe::NetParameter filtered;
  Net::FilterNet(param, &filtered);
  std::set<std::string> missing;
  for (const auto& layer : filtered.layer()) {
    if (!LayerRegistry::Has(layer.type())) {
      missing.insert(layer.type());
    } else if (layer.type() == "Python") {
      // The example's Python modules are not part of the conformance set.
      missing.insert("Python module '" + layer.python_param().module() + "'");
    }
  }
  if (!missing.empty()) {
    std::string types;
    for (const auto& t : missing) types += (types.empty() ? "" : ", ") + t;
    std::printf("[conformance-run] %s %s: SKIPPED, missing: %s\n", c.path.c_str(),
                caffe::Phase_Name(c.phase).c_str(), types.c_str());
    return false;
  }

  // A net without a loss (a deploy net) forces backward so its layers'
  // backward passes run too; with a loss, backward follows the loss as in
  // training (forcing it would also reach ArgMax, which has no backward).
  bool has_loss = false;
  for (const auto& layer : filtered.layer()) {
    const std::string& type = layer.type();
    has_loss |= layer.loss_weight_size() > 0 ||
                (type.size() >= 4 && type.compare(type.size() - 4, 4, "Loss") == 0);
  }
  param.set_force_backward(!has_loss);

  *out = param;
  return true;
}

// Data tops get noise; other input tops (labels, similarity) stay 0, a
// valid class for every loss here.
void FillInputs(Net* net) {
  for (size_t i = 0; i < net->layers().size(); ++i) {
    if (std::string(net->layers()[i]->type()) != "Input") continue;
    testing::FillGaussian(net->top_vecs()[i][0], 0, 1, 17 + i);
  }
}

// Deploy nets whose BatchNorm layers use stored statistics start with zero
// variance, so each one multiplies by 1/sqrt(eps) (316x): through MobileNet
// v2's 52 of them a filled (msra) net overflows to inf, and inf * 0 gradients
// are NaN. Unit statistics keep such a net finite, as trained ones are.
void GiveBatchNormUnitStatistics(Net* net) {
  for (const auto& layer : net->layers()) {
    if (std::string(layer->type()) != "BatchNorm") continue;
    Blob* variance = layer->blobs()[1].get();
    Blob* weight = layer->blobs()[2].get();
    std::fill_n(variance->mutable_cpu_data(), variance->count(), 1.f);
    weight->mutable_cpu_data()[0] = 1.f;
  }
}

TEST_P(ConformanceRunTest, BuildsAndRunsForwardBackward) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const RunCase& c = GetParam();
  caffe::NetParameter param;
  size_t stubbed = 0;
  if (!PrepareNet(c, &param, &stubbed)) GTEST_SKIP() << c.path << ": missing layer types";
  Net net(param);
  GiveBatchNormUnitStatistics(&net);
  FillInputs(&net);
  float loss = 0;
  net.Forward(&loss);
  EXPECT_TRUE(std::isfinite(loss)) << loss;
  for (const Blob* out : net.output_blobs()) {
    for (int64_t k = 0; k < out->count(); ++k) {
      ASSERT_TRUE(std::isfinite(out->cpu_data()[k])) << "non-finite output element " << k;
    }
  }
  net.ClearParamDiffs();
  net.Backward();
  for (size_t p = 0; p < net.learnable_params().size(); ++p) {
    const Blob* blob = net.learnable_params()[p];
    ASSERT_TRUE(std::isfinite(blob->asum_diff())) << "parameter " << p << " gradient";
  }
  std::printf("[conformance-run] %s %s: forward+backward ok (%zu layers, %zu stubbed data "
              "layers, loss %g)\n",
              c.path.c_str(), caffe::Phase_Name(c.phase).c_str(), net.layers().size(),
              stubbed, loss);
}

// ||a - b|| / max(||a||, 1e-6): one number per blob, robust to the different
// summation orders of cuDNN's algorithms in deep nets.
double RelativeError(const float* a, const float* b, int64_t n) {
  double diff = 0, norm = 0;
  for (int64_t k = 0; k < n; ++k) {
    diff += double(a[k] - b[k]) * (a[k] - b[k]);
    norm += double(a[k]) * a[k];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-6);
}

// The same net, weights and inputs on the CPU and on GPU 0: outputs and
// parameter gradients agree within 1e-3 relative (float32 throughout).
TEST_P(ConformanceRunTest, GpuMatchesCpu) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  if (CudaDeviceCount() == 0) {
    GTEST_SKIP() << "skipped: no GPU (" << CudaUnavailableReason() << ")";
  }
  const RunCase& c = GetParam();
  caffe::NetParameter param;
  size_t stubbed = 0;
  if (!PrepareNet(c, &param, &stubbed)) GTEST_SKIP() << c.path << ": missing layer types";
  SetRandomSeed(5);
  Net cpu(param);
  SetRandomSeed(5);
  Net gpu(param);
  gpu.SetDevice(Device::Cuda(0));
  GiveBatchNormUnitStatistics(&cpu);
  GiveBatchNormUnitStatistics(&gpu);
  FillInputs(&cpu);
  FillInputs(&gpu);
  SetRandomSeed(6);  // dropout masks come from the host RNG on both devices
  cpu.Forward();
  SetRandomSeed(6);
  gpu.Forward();
  for (size_t o = 0; o < cpu.output_blobs().size(); ++o) {
    const Blob* a = cpu.output_blobs()[o];
    const Blob* b = gpu.output_blobs()[o];
    EXPECT_LT(RelativeError(a->cpu_data(), b->cpu_data(), a->count()), 1e-3)
        << "output " << cpu.blob_names()[cpu.output_blob_indices()[o]];
  }
  cpu.ClearParamDiffs();
  gpu.ClearParamDiffs();
  cpu.Backward();
  gpu.Backward();
  for (size_t p = 0; p < cpu.learnable_params().size(); ++p) {
    const Blob* a = cpu.learnable_params()[p];
    const Blob* b = gpu.learnable_params()[p];
    EXPECT_LT(RelativeError(a->cpu_diff(), b->cpu_diff(), a->count()), 1e-3)
        << "gradient of " << cpu.param_display_names()[p];
  }
}

INSTANTIATE_TEST_SUITE_P(Nets, ConformanceRunTest, ::testing::ValuesIn(Cases()), CaseName);

TEST(StubDataTest, ReplacesMissingSourcesAndKeepsRules) {
  caffe::NetParameter param;
  ReadProtoFromTextString(R"(
    layer { name: "d" type: "Data" top: "data" top: "label" include { phase: TRAIN }
            data_param { source: "/nonexistent/lmdb" batch_size: 8 }
            transform_param { crop_size: 5 } }
    layer { name: "i" type: "ImageData" top: "img" top: "y"
            image_data_param { source: "/nonexistent/list.txt" batch_size: 3 new_height: 4
                               new_width: 6 is_color: false } }
  )", "stub", &param);
  const auto stubbed = StubDataSources(&param);
  ASSERT_EQ(stubbed.size(), 2u);
  EXPECT_EQ(stubbed[0].top_shapes, (std::vector<std::vector<int>>{{8, 3, 5, 5}, {8}}));
  EXPECT_EQ(stubbed[1].top_shapes, (std::vector<std::vector<int>>{{3, 1, 4, 6}, {3}}));
  EXPECT_NE(stubbed[0].reason.find("/nonexistent/lmdb"), std::string::npos);
  const auto& data = param.layer(0);
  EXPECT_EQ(data.type(), "Input");
  EXPECT_EQ(data.top_size(), 2);
  ASSERT_EQ(data.include_size(), 1);
  EXPECT_EQ(data.include(0).phase(), caffe::TRAIN);
  EXPECT_FALSE(data.has_data_param());
}

TEST(StubDataTest, UndeclaredShapeNeedsAHint) {
  caffe::NetParameter param;
  ReadProtoFromTextString(
      "layer { name: 'd' type: 'Data' top: 'data' data_param { source: '/no' batch_size: 2 } }",
      "stub", &param);
  caffe::NetParameter copy(param);
  try {
    StubDataSources(&copy);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'data'"), std::string::npos) << e.what();
  }
  StubDataOptions options;
  options.item_shapes = ParseItemShapes("data:1,28,28;other:7");
  EXPECT_EQ(options.item_shapes["other"], std::vector<int>{7});
  const auto stubbed = StubDataSources(&param, options);
  ASSERT_EQ(stubbed.size(), 1u);
  EXPECT_EQ(stubbed[0].top_shapes[0], (std::vector<int>{2, 1, 28, 28}));
  EXPECT_THROW(ParseItemShapes("data:1,x"), Error);
  EXPECT_THROW(ParseItemShapes("noshape"), Error);
}

TEST(StubDataTest, TimeCommandStubsDataSources) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const std::string model = (kRoot / "bvlc/examples/mnist/lenet_train_test.prototxt").string();
  const std::string log = ::testing::TempDir() + "/stub_time.log";
  const std::string command = std::string(CORTADO_TOOL_PATH) + " time --model=" + model +
                              " --stub_data --stub_shape=data:1,28,28 --iterations=1 > " + log +
                              " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "see " << log;
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Stubbing data layer 'mnist'"), std::string::npos) << text;
  EXPECT_NE(text.find("Average Forward-Backward"), std::string::npos) << text;
  // Without a shape hint the tool says which top needs one.
  const std::string bad = std::string(CORTADO_TOOL_PATH) + " time --model=" + model +
                          " --stub_data --iterations=1 > " + log + " 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
}

}  // namespace
}  // namespace cortado
