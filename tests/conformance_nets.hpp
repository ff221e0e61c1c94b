// The conformance set's nets as tests use them: every prototxt, built for
// TEST with stubbed data at a small batch, with trained or random weights.
#ifndef CORTADO_TESTS_CONFORMANCE_NETS_HPP_
#define CORTADO_TESTS_CONFORMANCE_NETS_HPP_

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/net.hpp"
#include "cortado/stub_data.hpp"
#include "conformance_dir.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {

namespace fs = std::filesystem;

inline std::vector<std::string> NetFiles() {
  if (!HaveConformanceSet()) return {""};
  std::vector<std::string> files;
  const fs::path root = ConformanceRoot();
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".prototxt" && name.find("solver") == std::string::npos) {
      files.push_back(fs::relative(entry.path(), root).string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string ConformanceCaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.empty() ? "ConformanceSetMissing" : info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// Item shapes the data layers do not declare (see conformance_run_test.cpp).
inline std::map<std::string, std::vector<int>> ItemShapes(const std::string& path) {
  if (path.find("mnist_siamese") != std::string::npos) return {{"pair_data", {2, 28, 28}}};
  if (path.find("mnist") != std::string::npos) return {{"data", {1, 28, 28}}};
  if (path.find("cifar10") != std::string::npos) return {{"data", {3, 32, 32}}};
  if (path.find("hdf5_classification") != std::string::npos) return {{"data", {4}}};
  return {};
}

constexpr int kConformanceBatch = 2;

// The TEST net with stubbed data and a small batch; false when it needs a
// layer type (or Python module) this build lacks.
inline bool PrepareNet(const std::string& relative, caffe::NetParameter* out) {
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(ConformancePath(relative), &param);
  param.mutable_state()->set_phase(caffe::TEST);
  if (relative.find("mnist_autoencoder") != std::string::npos) {
    param.mutable_state()->add_stage("test-on-test");
  }
  StubDataOptions options;
  options.item_shapes = ItemShapes(relative);
  options.batch_size = kConformanceBatch;
  StubDataSources(&param, options);
  CapInputBatch(&param, kConformanceBatch);
  caffe::NetParameter filtered;
  Net::FilterNet(param, &filtered);
  for (const auto& layer : filtered.layer()) {
    if (!LayerRegistry::Has(layer.type()) || layer.type() == "Python") return false;
  }
  *out = param;
  return true;
}

// The trained weights stored beside the prototxt, if any.
inline std::string WeightsFor(const std::string& relative) {
  const fs::path dir = fs::path(ConformancePath(relative)).parent_path();
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".caffemodel") return entry.path().string();
  }
  return "";
}

// Deploy prototxts carry no fillers (Caffe's default fills 0), so every
// parameter gets a random value: weights scaled by their fan-in, which keeps
// deep nets' activations finite, and random statistics and Scale factors.
inline void RandomizeParameters(Net* net) {
  unsigned seed = 3;
  for (const auto& layer : net->layers()) {
    const std::string type = layer->type();
    auto& blobs = layer->blobs();
    if (type == "BatchNorm") {
      FillGaussian(blobs[0].get(), 0.f, 0.2f, seed++);
      FillUniform(blobs[1].get(), 0.5f, 2.f, seed++);
      blobs[2]->mutable_cpu_data()[0] = 1.5f;
    } else if (type == "Scale") {
      FillUniform(blobs[0].get(), 0.5f, 1.5f, seed++);
      if (blobs.size() > 1) FillGaussian(blobs[1].get(), 0.f, 0.2f, seed++);
    } else {
      for (auto& blob : blobs) {
        if (blob->count() == 0) continue;
        const int64_t fan_in = blob->num_axes() >= 2 ? blob->count() / blob->shape(0) : 0;
        const float stddev = fan_in > 0 ? std::sqrt(2.f / fan_in) : 0.1f;
        FillGaussian(blob.get(), 0.f, stddev, seed++);
      }
    }
  }
}

// The weights beside the prototxt when they fit the net, else random ones
// (a prototxt may sit beside another net's weights: the V1 example's).
inline void LoadWeightsOrRandomize(Net* net, const std::string& relative, const char* log_tag) {
  const std::string weights = WeightsFor(relative);
  if (!weights.empty()) {
    try {
      net->CopyTrainedLayersFrom(weights, Net::MissingWeights::kError);
      return;
    } catch (const Error& e) {
      std::printf("[%s] %s: random weights (%s)\n", log_tag, relative.c_str(), e.what());
    }
  }
  RandomizeParameters(net);
}

}  // namespace testing
}  // namespace cortado

#endif  // CORTADO_TESTS_CONFORMANCE_NETS_HPP_
