// Real trained weights (../shared/conformance/weights) load and give the same
// outputs as OpenCV's independent Caffe importer (the dnn module) on a fixed
// input: LeNet (V2), CIFAR-10 quick (legacy V1 weights) and MTCNN's P-Net
// (input_dim style, PReLU).
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/dnn.hpp>

#include "cortado/net.hpp"
#include "conformance_dir.hpp"

namespace cortado {
namespace {

const std::string kWeights = testing::ConformancePath("weights/");

struct ParityCase {
  std::string name;
  std::string prototxt;
  std::string caffemodel;
  std::vector<int> input_shape;
  float low, high;  // input value range
  std::vector<std::string> outputs;
};

void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.name; }

class OpenCvParityTest : public ::testing::TestWithParam<ParityCase> {};

TEST_P(OpenCvParityTest, OutputsMatchOpenCvDnn) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const ParityCase& c = GetParam();
  std::vector<float> input(1);
  for (int d : c.input_shape) input.resize(input.size() * d);
  std::mt19937 rng(2024);
  std::uniform_real_distribution<float> uniform(c.low, c.high);
  for (float& v : input) v = uniform(rng);

  Net net(kWeights + c.prototxt, caffe::TEST);
  net.CopyTrainedLayersFrom(kWeights + c.caffemodel);
  ASSERT_EQ(net.input_blobs().size(), 1u);
  Blob* in = net.input_blobs()[0];
  in->Reshape(c.input_shape);
  net.Reshape();
  std::copy(input.begin(), input.end(), in->mutable_cpu_data());
  net.Forward();

  cv::dnn::Net reference =
      cv::dnn::readNetFromCaffe(kWeights + c.prototxt, kWeights + c.caffemodel);
  reference.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  reference.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  cv::Mat blob(static_cast<int>(c.input_shape.size()), c.input_shape.data(), CV_32F,
               input.data());
  reference.setInput(blob);
  std::vector<cv::Mat> expected;
  std::vector<cv::String> names(c.outputs.begin(), c.outputs.end());
  reference.forward(expected, names);
  ASSERT_EQ(expected.size(), c.outputs.size());

  for (size_t o = 0; o < c.outputs.size(); ++o) {
    SCOPED_TRACE(c.outputs[o]);
    const Blob* ours = net.blob_by_name(c.outputs[o]);
    ASSERT_NE(ours, nullptr);
    const cv::Mat& theirs = expected[o];
    ASSERT_EQ(static_cast<int64_t>(theirs.total()), ours->count());
    const float* want = theirs.ptr<float>();
    float scale = 0;
    for (int64_t i = 0; i < ours->count(); ++i) scale = std::max(scale, std::fabs(want[i]));
    // Relative to the output's largest magnitude, not to each element: small
    // elements carry the rounding of the large sums they came from, and that
    // rounding depends on the BLAS kernel's summation order (AVX2 vs AVX-512).
    const float tolerance = 1e-4f * std::max(scale, 1e-12f);
    double worst = 0;
    for (int64_t i = 0; i < ours->count(); ++i) {
      const float got = ours->cpu_data()[i];
      worst = std::max(worst, double(std::fabs(got - want[i])) / std::max(scale, 1e-12f));
      ASSERT_LE(std::fabs(got - want[i]), tolerance)
          << "element " << i << ": cortado " << got << ", OpenCV " << want[i]
          << " (output scale " << scale << ")";
    }
    std::printf("[opencv-parity] %s/%s: %lld values, worst difference %.3g of the output's scale\n",
                c.name.c_str(), c.outputs[o].c_str(), static_cast<long long>(ours->count()),
                worst);
  }
}

INSTANTIATE_TEST_SUITE_P(
    RealWeights, OpenCvParityTest,
    ::testing::Values(
        ParityCase{"LenetMnist", "lenet_mnist/lenet.prototxt",
                   "lenet_mnist/lenet_iter_10000.caffemodel", {2, 1, 28, 28}, 0.f, 1.f,
                   {"ip2", "prob"}},  // ip1 is overwritten in place by relu1
        ParityCase{"Cifar10QuickV1", "cifar10_quick_v1/cifar10_quick.prototxt",
                   "cifar10_quick_v1/cifar10_quick_iter_5000.caffemodel", {2, 3, 32, 32},
                   -120.f, 120.f, {"ip2", "prob"}},
        ParityCase{"MtcnnPnet", "mtcnn_pnet/det1.prototxt", "mtcnn_pnet/det1.caffemodel",
                   {1, 3, 24, 31}, -1.f, 1.f, {"conv4-2", "prob1"}}),
    [](const ::testing::TestParamInfo<ParityCase>& info) { return info.param.name; });

}  // namespace
}  // namespace cortado
