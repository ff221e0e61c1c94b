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
#include "conformance_nets.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace {

using testing::NetFiles;
using testing::PrepareNet;
using testing::ConformanceCaseName;

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
  testing::LoadWeightsOrRandomize(&fused, relative, "fusion-conformance");
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
                         ConformanceCaseName);

}  // namespace
}  // namespace cortado
