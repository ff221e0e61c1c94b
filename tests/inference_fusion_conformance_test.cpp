// Every net of the conformance set, built for TEST, gives the same outputs
// with inference fusion as without: real weights where the set has them,
// else the net's fillers with random BatchNorm statistics (positive
// variance) and Scale factors, so that folding is not the identity. The
// tolerance is 1e-5 of each output's largest magnitude.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

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

std::vector<std::string> NetFiles() {
  if (!testing::HaveConformanceSet()) return {""};
  std::vector<std::string> files;
  const fs::path root = testing::ConformanceRoot();
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".prototxt" && name.find("solver") == std::string::npos) {
      files.push_back(fs::relative(entry.path(), root).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.empty() ? "ConformanceSetMissing" : info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// Item shapes the data layers do not declare (see conformance_run_test.cpp).
std::map<std::string, std::vector<int>> ItemShapes(const std::string& path) {
  if (path.find("mnist_siamese") != std::string::npos) return {{"pair_data", {2, 28, 28}}};
  if (path.find("mnist") != std::string::npos) return {{"data", {1, 28, 28}}};
  if (path.find("cifar10") != std::string::npos) return {{"data", {3, 32, 32}}};
  if (path.find("hdf5_classification") != std::string::npos) return {{"data", {4}}};
  return {};
}

constexpr int kBatch = 2;

// The TEST net with stubbed data and a small batch; false when it needs a
// layer type (or Python module) this build lacks.
bool PrepareNet(const std::string& relative, caffe::NetParameter* out) {
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(testing::ConformancePath(relative), &param);
  param.mutable_state()->set_phase(caffe::TEST);
  if (relative.find("mnist_autoencoder") != std::string::npos) {
    param.mutable_state()->add_stage("test-on-test");
  }
  StubDataOptions options;
  options.item_shapes = ItemShapes(relative);
  options.batch_size = kBatch;
  StubDataSources(&param, options);
  CapInputBatch(&param, kBatch);
  caffe::NetParameter filtered;
  Net::FilterNet(param, &filtered);
  for (const auto& layer : filtered.layer()) {
    if (!LayerRegistry::Has(layer.type()) || layer.type() == "Python") return false;
  }
  *out = param;
  return true;
}

// The trained weights stored beside the prototxt, if any.
std::string WeightsFor(const std::string& relative) {
  const fs::path dir = fs::path(testing::ConformancePath(relative)).parent_path();
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".caffemodel") return entry.path().string();
  }
  return "";
}

// Deploy prototxts carry no fillers (Caffe's default fills 0), so every
// parameter gets a random value: weights scaled by their fan-in, which keeps
// deep nets' activations finite, and random statistics and Scale factors.
void RandomizeParameters(Net* net) {
  unsigned seed = 3;
  for (const auto& layer : net->layers()) {
    const std::string type = layer->type();
    auto& blobs = layer->blobs();
    if (type == "BatchNorm") {
      testing::FillGaussian(blobs[0].get(), 0.f, 0.2f, seed++);
      testing::FillUniform(blobs[1].get(), 0.5f, 2.f, seed++);
      blobs[2]->mutable_cpu_data()[0] = 1.5f;
    } else if (type == "Scale") {
      testing::FillUniform(blobs[0].get(), 0.5f, 1.5f, seed++);
      if (blobs.size() > 1) testing::FillGaussian(blobs[1].get(), 0.f, 0.2f, seed++);
    } else {
      for (auto& blob : blobs) {
        if (blob->count() == 0) continue;
        const int64_t fan_in = blob->num_axes() >= 2 ? blob->count() / blob->shape(0) : 0;
        const float stddev = fan_in > 0 ? std::sqrt(2.f / fan_in) : 0.1f;
        testing::FillGaussian(blob.get(), 0.f, stddev, seed++);
      }
    }
  }
}

// Tops of layers whose outputs are discrete (a class index, a hit count):
// a rounding-level difference may legitimately flip a near tie.
std::set<int> DiscreteBlobs(const Net& net) {
  std::set<int> ids;
  for (size_t i = 0; i < net.layers().size(); ++i) {
    const std::string type = net.layers()[i]->type();
    if (type == "Accuracy" || type == "ArgMax") {
      for (int id : net.top_ids()[i]) ids.insert(id);
    }
  }
  return ids;
}

class InferenceFusionConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InferenceFusionConformanceTest, FusedOutputsMatchUnfused) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const std::string& relative = GetParam();
  caffe::NetParameter param;
  if (!PrepareNet(relative, &param)) GTEST_SKIP() << relative << ": needs a missing layer type";
  SetRandomSeed(11);
  Net fused(param);
  caffe::NetParameter off(param);
  off.set_fuse_inference(false);
  Net plain(off);
  ASSERT_EQ(plain.fusion(), nullptr);
  const std::string weights = WeightsFor(relative);
  bool loaded = false;
  if (!weights.empty()) {
    try {
      fused.CopyTrainedLayersFrom(weights, Net::MissingWeights::kError);
      loaded = true;
    } catch (const Error& e) {
      // A prototxt beside weights of another net (the V1 example's).
      std::printf("[fusion-conformance] %s: random weights (%s)\n", relative.c_str(), e.what());
    }
  }
  if (!loaded) RandomizeParameters(&fused);
  caffe::NetParameter values;
  fused.ToProto(&values);
  plain.CopyTrainedLayersFrom(values);
  for (size_t i = 0; i < fused.layers().size(); ++i) {
    if (std::string(fused.layers()[i]->type()) != "Input") continue;
    for (size_t t = 0; t < fused.top_vecs()[i].size(); ++t) {
      testing::FillGaussian(fused.top_vecs()[i][t], 0, 1, 17 + i);
      testing::FillGaussian(plain.top_vecs()[i][t], 0, 1, 17 + i);
    }
  }
  fused.Forward();
  plain.Forward();
  const std::set<int> discrete = DiscreteBlobs(plain);
  std::printf("[fusion-conformance] %s: %s\n", relative.c_str(),
              fused.fusion() ? "fused" : "nothing to fuse");
  for (size_t o = 0; o < plain.output_blobs().size(); ++o) {
    const int id = plain.output_blob_indices()[o];
    if (discrete.count(id)) continue;
    const Blob& expected = *plain.output_blobs()[o];
    const Blob& actual = *fused.output_blobs()[o];
    ASSERT_EQ(expected.shape(), actual.shape());
    float scale = 0;
    for (int64_t i = 0; i < expected.count(); ++i) {
      scale = std::max(scale, std::fabs(expected.cpu_data()[i]));
    }
    ASSERT_TRUE(std::isfinite(scale)) << plain.blob_names()[id];
    const float tolerance = 1e-5f * std::max(scale, 1e-6f);
    for (int64_t i = 0; i < expected.count(); ++i) {
      ASSERT_NEAR(expected.cpu_data()[i], actual.cpu_data()[i], tolerance)
          << relative << ": output " << plain.blob_names()[id] << " element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Nets, InferenceFusionConformanceTest, ::testing::ValuesIn(NetFiles()),
                         CaseName);

}  // namespace
}  // namespace cortado
