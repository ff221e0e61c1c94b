// DeployNet: the deployed net computes what the original computes (within
// 1e-4 of each output's scale), has no BatchNorm, Scale or Dropout left, and
// OpenCV's independent Caffe importer loads it and agrees.
#include "cortado/deploy.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/dnn.hpp>

#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "conformance_dir.hpp"
#include "resnet_prototxt.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

// Gives every parameter a plausible trained value: weights scaled by fan-in,
// BatchNorm statistics with positive variance, Scale near 1.
void RandomizeParams(Net* net, uint32_t seed) {
  std::mt19937 rng(seed);
  for (size_t i = 0; i < net->layers().size(); ++i) {
    Layer& layer = *net->layers()[i];
    const std::string type = layer.type();
    for (size_t p = 0; p < layer.blobs().size(); ++p) {
      Blob& blob = *layer.blobs()[p];
      float* data = blob.mutable_cpu_data();
      if (type == "BatchNorm") {
        std::uniform_real_distribution<float> mean(-0.2f, 0.2f), var(0.5f, 1.5f);
        for (int64_t k = 0; k < blob.count(); ++k) {
          data[k] = p == 0 ? mean(rng) : p == 1 ? var(rng) : 1.f;
        }
      } else if (type == "Scale") {
        std::uniform_real_distribution<float> gamma(0.5f, 1.0f), beta(-0.1f, 0.1f);
        for (int64_t k = 0; k < blob.count(); ++k) data[k] = p == 0 ? gamma(rng) : beta(rng);
      } else {
        const double fan_in = blob.num_axes() > 1 ? blob.count() / blob.shape(0) : 1;
        std::normal_distribution<float> normal(0.f, p == 0 ? std::sqrt(1.0 / fan_in) : 0.05);
        for (int64_t k = 0; k < blob.count(); ++k) data[k] = normal(rng);
      }
    }
  }
}

std::string WriteText(const testing::TempDir& dir, const std::string& name,
                      const std::string& text) {
  const std::string path = dir.File(name);
  std::ofstream(path) << text;
  return path;
}

// Writes random weights for `model`, deploys it, and checks the deployed
// net's outputs (and OpenCV's) against the original's on one random batch.
void ExpectDeployMatches(const std::string& model, const std::string& weights,
                         const DeployOptions& options, const std::vector<std::string>& compare,
                         bool opencv) {
  testing::TempDir dir;
  DeployResult result = DeployNet(model, {weights}, options);
  for (const caffe::LayerParameter& layer : result.net.layer()) {
    EXPECT_NE(layer.type(), "BatchNorm") << layer.name();
    EXPECT_NE(layer.type(), "Scale") << layer.name();
    EXPECT_NE(layer.type(), "Dropout") << layer.name();
    EXPECT_EQ(layer.include_size() + layer.exclude_size(), 0) << layer.name();
  }
  const std::string out_model = dir.File("deploy.prototxt");
  const std::string out_weights = dir.File("deploy.caffemodel");
  WriteProtoToTextFile(WithoutBlobs(result.net), out_model);
  WriteProtoToBinaryFile(result.net, out_weights);
  Net deployed(out_model, caffe::TEST);
  deployed.CopyTrainedLayersFrom(out_weights, Net::MissingWeights::kError);
  Net& original = *result.original;
  original.set_fuse_inference(false);
  ASSERT_EQ(deployed.input_blobs().size(), 1u);
  Blob* in = deployed.input_blobs()[0];
  const std::string input_name = deployed.blob_names()[deployed.input_blob_indices()[0]];
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  std::vector<float> input(in->count());
  for (float& v : input) v = uniform(rng);
  for (Blob* b : original.input_blobs()) {
    std::fill(b->mutable_cpu_data(), b->mutable_cpu_data() + b->count(), 0.f);
  }
  std::copy(input.begin(), input.end(), in->mutable_cpu_data());
  std::copy(input.begin(), input.end(), original.blob_by_name(input_name)->mutable_cpu_data());
  deployed.Forward();
  original.Forward();

  std::vector<cv::Mat> theirs;
  if (opencv) {
    cv::dnn::Net reference = cv::dnn::readNetFromCaffe(out_model, out_weights);
    reference.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    reference.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    cv::Mat blob(in->num_axes(), in->shape().data(), CV_32F, input.data());
    reference.setInput(blob);
    std::vector<cv::String> names(compare.begin(), compare.end());
    reference.forward(theirs, names);
    ASSERT_EQ(theirs.size(), compare.size());
  }
  for (size_t o = 0; o < compare.size(); ++o) {
    SCOPED_TRACE(compare[o]);
    const Blob* want = original.blob_by_name(compare[o]);
    const Blob* got = deployed.blob_by_name(compare[o]);
    ASSERT_NE(want, nullptr);
    ASSERT_NE(got, nullptr);
    ASSERT_EQ(want->count(), got->count());
    float scale = 0;
    for (int64_t k = 0; k < want->count(); ++k) scale = std::max(scale, std::fabs(want->cpu_data()[k]));
    ASSERT_GT(scale, 0.f);
    ASSERT_TRUE(std::isfinite(scale));
    const float tolerance = 1e-4f * scale;
    for (int64_t k = 0; k < want->count(); ++k) {
      ASSERT_NEAR(got->cpu_data()[k], want->cpu_data()[k], tolerance) << "element " << k;
      if (opencv) {
        ASSERT_EQ(static_cast<int64_t>(theirs[o].total()), want->count());
        ASSERT_NEAR(theirs[o].ptr<float>()[k], want->cpu_data()[k], tolerance)
            << "OpenCV, element " << k;
      }
    }
  }
}

std::string RandomWeightsFor(const testing::TempDir& dir, const std::string& model,
                             const DeployOptions& options) {
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(model, &param);
  param.mutable_state()->set_phase(caffe::TEST);
  Net net(param);
  RandomizeParams(&net, 11);
  caffe::NetParameter weights;
  net.ToProto(&weights);
  const std::string path = dir.File("random.caffemodel");
  WriteProtoToBinaryFile(weights, path);
  return path;
}

// Convolution -> BatchNorm (not in place) -> Scale -> ReLU -> Dropout
// (not in place) -> InnerProduct -> BatchNorm -> Scale -> Softmax.
const char kBnNet[] = R"(
name: "bn_net"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 10 dim: 10 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 8 kernel_size: 3 bias_term: false } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "bn" }
layer { name: "scale" type: "Scale" bottom: "bn" top: "bn" scale_param { bias_term: true } }
layer { name: "relu" type: "ReLU" bottom: "bn" top: "relu" }
layer { name: "drop" type: "Dropout" bottom: "relu" top: "drop" dropout_param { dropout_ratio: 0.5 } }
layer { name: "fc" type: "InnerProduct" bottom: "drop" top: "fc" inner_product_param { num_output: 6 } }
layer { name: "fc_bn" type: "BatchNorm" bottom: "fc" top: "fc" }
layer { name: "fc_scale" type: "Scale" bottom: "fc" top: "fc" scale_param { bias_term: false } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
)";

TEST(DeployTest, BatchNormNetFoldsAndMatches) {
  testing::TempDir dir;
  const std::string model = WriteText(dir, "bn.prototxt", kBnNet);
  const std::string weights = RandomWeightsFor(dir, model, {});
  DeployResult result = DeployNet(model, {weights});
  EXPECT_EQ(result.folded, 4);
  EXPECT_EQ(result.removed, 1);        // the Dropout
  EXPECT_EQ(result.made_in_place, 1);  // the ReLU
  ASSERT_EQ(result.net.layer_size(), 5);
  EXPECT_TRUE(result.net.layer(1).convolution_param().bias_term());
  EXPECT_EQ(result.net.layer(2).bottom(0), result.net.layer(2).top(0));
  ExpectDeployMatches(model, weights, {}, {"fc", "prob"}, /*opencv=*/true);
}

TEST(DeployTest, LeNetTrainValWithRealWeightsMatches) {
  const std::string root = CORTADO_SOURCE_DIR;
  DeployOptions options;
  options.item_shapes["data"] = {1, 28, 28};
  options.batch = 4;
  const std::string model = root + "/models/lenet/train_val.prototxt";
  const std::string weights = root + "/models/lenet/lenet_fashion_mnist.caffemodel";
  DeployResult result = DeployNet(model, {weights}, options);
  EXPECT_EQ(result.net.layer(0).type(), "Input");
  EXPECT_EQ(result.net.layer(0).top_size(), 1);
  EXPECT_EQ(result.net.layer(result.net.layer_size() - 1).type(), "Softmax");
  ExpectDeployMatches(model, weights, options, {"ip2"}, /*opencv=*/true);
}

TEST(DeployTest, ResNet50MatchesAndOpenCvAgrees) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  testing::TempDir dir;
  const std::string model = testing::ConformancePath("bench/resnet50_deploy.prototxt");
  const std::string weights = RandomWeightsFor(dir, model, {});
  DeployResult result = DeployNet(model, {weights});
  EXPECT_EQ(result.folded, 2 * 53);  // every convolution's BatchNorm and Scale
  ExpectDeployMatches(model, weights, {}, {"fc1000", "prob"}, /*opencv=*/true);
}

}  // namespace
}  // namespace cortado
