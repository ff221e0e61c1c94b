// ExportOnnx: exported nets, read back by OpenCV's independent ONNX importer
// (the dnn module), compute what Cortado computes; per-layer cases cover the
// mapped layer catalogue, and a layer with no ONNX form is a clear error.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <opencv2/dnn.hpp>

#include "caffe.pb.h"
#include "cortado_onnx.pb.h"
#include "cortado/common.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "cortado/onnx_export.hpp"
#include "conformance_dir.hpp"

namespace cortado {
namespace {

// Random parameters that keep activations of a deep net in range: weights of
// variance 1/fan-in, other vectors near 1, BatchNorm statistics kept (as
// Caffe does) times a moving-average factor that is not 1.
void RandomiseParams(Net* net, uint32_t seed) {
  std::mt19937 rng(seed);
  for (const auto& layer : net->layers()) {
    auto& blobs = layer->blobs();
    if (layer->layer_param().type() == "BatchNorm" && blobs.size() == 3) {
      const float factor = 2.5f;
      std::uniform_real_distribution<float> mean(-0.2f, 0.2f), var(0.5f, 1.5f);
      for (int64_t i = 0; i < blobs[0]->count(); ++i) {
        blobs[0]->mutable_cpu_data()[i] = factor * mean(rng);
        blobs[1]->mutable_cpu_data()[i] = factor * var(rng);
      }
      blobs[2]->mutable_cpu_data()[0] = factor;
      continue;
    }
    for (const auto& blob : blobs) {
      float low = 0.5f, high = 1.5f;
      if (blob->num_axes() >= 2) {
        const double fan_in = double(blob->count()) / std::max(blob->shape(0), 1);
        high = static_cast<float>(std::sqrt(3.0 / std::max(fan_in, 1.0)));
        low = -high;
      }
      std::uniform_real_distribution<float> u(low, high);
      for (int64_t i = 0; i < blob->count(); ++i) blob->mutable_cpu_data()[i] = u(rng);
    }
  }
}

// Sets every input's batch to `batch` (0: keep) and fills the inputs.
void FillInputs(Net* net, int batch, float low, float high, uint32_t seed) {
  for (Blob* in : net->input_blobs()) {
    if (batch > 0) {
      std::vector<int> shape = in->shape();
      shape[0] = batch;
      in->Reshape(shape);
    }
  }
  net->Reshape();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(low, high);
  for (Blob* in : net->input_blobs()) {
    for (int64_t i = 0; i < in->count(); ++i) in->mutable_cpu_data()[i] = u(rng);
  }
}

// Runs Cortado's forward and OpenCV's on the exported model; asserts every
// net output agrees within 1e-4 of its largest magnitude and returns the
// worst difference so seen (relative to that scale).
double ExpectOpenCvAgrees(Net* net, const std::string& what) {
  std::vector<std::vector<float>> inputs;
  for (Blob* in : net->input_blobs()) {
    inputs.emplace_back(in->cpu_data(), in->cpu_data() + in->count());
  }
  net->Forward();
  const std::string bytes = ExportOnnxBytes(*net);
  cv::dnn::Net reference = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  reference.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  reference.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  cortado_onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromString(bytes));
  std::set<std::string> declared;
  for (const auto& info : model.graph().input()) declared.insert(info.name());
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Blob* in = net->input_blobs()[k];
    if (declared.count(net->blob_names()[net->input_blob_indices()[k]]) == 0) continue;
    cv::Mat blob(static_cast<int>(in->shape().size()), in->shape().data(), CV_32F,
                 inputs[k].data());
    reference.setInput(blob, net->blob_names()[net->input_blob_indices()[k]]);
  }
  std::vector<cv::String> names;
  for (int id : net->output_blob_indices()) names.push_back(net->blob_names()[id]);
  std::vector<cv::Mat> expected;
  reference.forward(expected, names);
  EXPECT_EQ(expected.size(), names.size());
  double worst = 0;
  for (size_t o = 0; o < names.size() && o < expected.size(); ++o) {
    SCOPED_TRACE(what + "/" + names[o]);
    const Blob* ours = net->output_blobs()[o];
    const cv::Mat& theirs = expected[o];
    EXPECT_EQ(static_cast<int64_t>(theirs.total()), ours->count());
    if (static_cast<int64_t>(theirs.total()) != ours->count()) continue;
    const float* want = theirs.ptr<float>();
    float scale = 0;
    for (int64_t i = 0; i < ours->count(); ++i) scale = std::max(scale, std::fabs(want[i]));
    scale = std::max(scale, 1e-12f);
    int reported = 0;
    for (int64_t i = 0; i < ours->count(); ++i) {
      const float got = ours->cpu_data()[i];
      const double diff = std::fabs(got - want[i]) / scale;
      worst = std::max(worst, diff);
      if (diff > 1e-4 && reported++ < 3) {
        ADD_FAILURE() << "element " << i << ": cortado " << got << ", OpenCV " << want[i]
                      << " (output scale " << scale << ")";
      }
    }
    EXPECT_GT(scale, 1e-6f) << "the output is all zeros: the comparison says nothing";
  }
  std::printf("[onnx-export] %s: %zu output(s), worst difference %.3g of the output's scale\n",
              what.c_str(), names.size(), worst);
  return worst;
}

caffe::NetParameter ParseNet(const std::string& text) {
  caffe::NetParameter param;
  if (!google::protobuf::TextFormat::ParseFromString(text, &param)) {
    ADD_FAILURE() << "bad test prototxt:\n" << text;
  }
  return param;
}

// A train/test prototxt as a deploy net: data layers become one Input of
// `shape` named after their first top, and loss/accuracy layers go.
caffe::NetParameter AsDeploy(const caffe::NetParameter& train, const std::vector<int>& shape) {
  caffe::NetParameter deploy = train;
  deploy.clear_layer();
  deploy.mutable_state()->set_phase(caffe::TEST);
  bool have_input = false;
  for (const caffe::LayerParameter& layer : train.layer()) {
    const std::string& type = layer.type();
    if (type == "Data") {
      if (have_input) continue;
      have_input = true;
      caffe::LayerParameter* input = deploy.add_layer();
      input->set_name("input");
      input->set_type("Input");
      input->add_top(layer.top(0));
      caffe::BlobShape* input_shape = input->mutable_input_param()->add_shape();
      for (int d : shape) input_shape->add_dim(d);
    } else if (type != "Accuracy" && type != "SoftmaxWithLoss") {
      *deploy.add_layer() = layer;
    }
  }
  return deploy;
}

// --- Whole nets ---------------------------------------------------------------

TEST(OnnxExportNet, LenetWithTrainedWeights) {
  const std::string dir = std::string(CORTADO_SOURCE_DIR) + "/models/lenet/";
  Net net(dir + "lenet.prototxt", caffe::TEST);
  net.CopyTrainedLayersFrom(dir + "lenet_fashion_mnist.caffemodel");
  FillInputs(&net, 1, 0.f, 1.f, 1);
  ExpectOpenCvAgrees(&net, "lenet");
}

TEST(OnnxExportNet, Cifar10ResNet20WithTrainedWeights) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const std::string dir = testing::ConformancePath("../zoo/cifar10_resnet20/");
  caffe::NetParameter train;
  ReadNetParamsFromTextFile(dir + "res20_cifar_train_test.prototxt", &train);
  Net net(AsDeploy(train, {1, 3, 32, 32}));
  net.CopyTrainedLayersFrom(dir + "cifar10_res20_iter_64000.caffemodel");
  FillInputs(&net, 1, -1.f, 1.f, 2);
  ExpectOpenCvAgrees(&net, "cifar10_resnet20");
}

struct NetCase {
  std::string name;
  std::string prototxt;    // relative to ../shared
  std::string caffemodel;  // relative to ../shared; empty: random weights
};

void PrintTo(const NetCase& c, std::ostream* os) { *os << c.name; }

class OnnxExportSharedNet : public ::testing::TestWithParam<NetCase> {};

TEST_P(OnnxExportSharedNet, OpenCvAgrees) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const NetCase& c = GetParam();
  const std::string shared = testing::ConformancePath("../");
  // The logits, not a final Softmax: with random weights it saturates to
  // one-hot, and a comparison of ones and zeros says little.
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(shared + c.prototxt, &param);
  param.mutable_state()->set_phase(caffe::TEST);
  if (param.layer_size() > 0 && param.layer(param.layer_size() - 1).type() == "Softmax") {
    param.mutable_layer()->RemoveLast();
  }
  Net net(param);
  if (c.caffemodel.empty()) {
    RandomiseParams(&net, 3);
  } else {
    net.CopyTrainedLayersFrom(shared + c.caffemodel);
  }
  FillInputs(&net, 1, -1.f, 1.f, 4);
  ExpectOpenCvAgrees(&net, c.name);
}

INSTANTIATE_TEST_SUITE_P(
    Zoo, OnnxExportSharedNet,
    ::testing::Values(
        NetCase{"SqueezeNet11", "conformance/bench/squeezenet_v1.1_deploy.prototxt", ""},
        NetCase{"GoogLeNet", "conformance/bvlc/models/bvlc_googlenet/deploy.prototxt", ""},
        NetCase{"ResNet50", "conformance/bench/resnet50_deploy.prototxt", ""},
        NetCase{"MobileNetV2", "conformance/bench/mobilenet_v2_deploy.prototxt", ""},
        NetCase{"MtcnnPnet", "zoo/mtcnn/det1.prototxt", "zoo/mtcnn/det1.caffemodel"},
        NetCase{"MtcnnRnet", "zoo/mtcnn/det2.prototxt", "zoo/mtcnn/det2.caffemodel"},
        NetCase{"MtcnnOnet", "zoo/mtcnn/det3.prototxt", "zoo/mtcnn/det3.caffemodel"},
        NetCase{"MtcnnLnet", "zoo/mtcnn/det4.prototxt", "zoo/mtcnn/det4.caffemodel"},
        NetCase{"UltraFaceRfb320", "zoo/ultraface/RFB-320.prototxt",
                "zoo/ultraface/RFB-320.caffemodel"},
        NetCase{"UltraFaceSlim320", "zoo/ultraface/slim-320.prototxt",
                "zoo/ultraface/slim-320.caffemodel"}),
    [](const ::testing::TestParamInfo<NetCase>& info) { return info.param.name; });

// --- Per-layer cases -----------------------------------------------------------

struct LayerCase {
  std::string name;
  std::vector<int> shape;  // of input "data"
  std::string layers;      // prototxt layers after the input
  float low = -1.f, high = 1.f;
  std::vector<int> shape2 = {};  // of input "data2", when given
};

void PrintTo(const LayerCase& c, std::ostream* os) { *os << c.name; }

std::string InputLayer(const std::string& top, const std::vector<int>& shape) {
  std::string s = "layer { name: \"" + top + "\" type: \"Input\" top: \"" + top +
                  "\" input_param { shape {";
  for (int d : shape) s += " dim: " + std::to_string(d);
  return s + " } } }\n";
}

class OnnxExportLayer : public ::testing::TestWithParam<LayerCase> {};

TEST_P(OnnxExportLayer, OpenCvAgrees) {
  const LayerCase& c = GetParam();
  std::string text = "name: \"" + c.name + "\"\n" + InputLayer("data", c.shape);
  if (!c.shape2.empty()) text += InputLayer("data2", c.shape2);
  Net net(ParseNet(text + c.layers));
  RandomiseParams(&net, 5);
  FillInputs(&net, 0, c.low, c.high, 6);
  ExpectOpenCvAgrees(&net, c.name);
}

#define CASE(name, ...) LayerCase{name, __VA_ARGS__}

INSTANTIATE_TEST_SUITE_P(
    Catalogue, OnnxExportLayer,
    ::testing::Values(
        CASE("ConvGroupDilation", {2, 4, 11, 13},
             R"(layer { name: "c" type: "Convolution" bottom: "data" top: "c"
                convolution_param { num_output: 6 group: 2 kernel_h: 3 kernel_w: 2
                pad_h: 2 pad_w: 1 stride_h: 2 stride_w: 1 dilation: 2 } })"),
        CASE("ConvNoBias", {1, 3, 8, 8},
             R"(layer { name: "c" type: "Convolution" bottom: "data" top: "c"
                convolution_param { num_output: 5 kernel_size: 3 bias_term: false } })"),
        CASE("DeconvGroupStride", {1, 4, 5, 6},
             R"(layer { name: "d" type: "Deconvolution" bottom: "data" top: "d"
                convolution_param { num_output: 6 group: 2 kernel_size: 4 stride: 2 pad: 1 } })"),
        CASE("InnerProduct", {2, 3, 4, 5},
             R"(layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
                inner_product_param { num_output: 7 } })"),
        CASE("InnerProductTransposeAxis2", {2, 3, 4, 5},
             R"(layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
                inner_product_param { num_output: 7 axis: 2 transpose: true } })"),
        CASE("MaxPoolCeil", {1, 3, 10, 11},
             R"(layer { name: "p" type: "Pooling" bottom: "data" top: "p"
                pooling_param { pool: MAX kernel_size: 3 stride: 2 } })"),
        CASE("MaxPoolPadCeil", {1, 3, 10, 11},
             R"(layer { name: "p" type: "Pooling" bottom: "data" top: "p"
                pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } })"),
        CASE("AvePoolCeil", {1, 3, 10, 11},
             R"(layer { name: "p" type: "Pooling" bottom: "data" top: "p"
                pooling_param { pool: AVE kernel_size: 3 stride: 2 } })"),
        CASE("AvePoolPad", {1, 3, 9, 9},
             R"(layer { name: "p" type: "Pooling" bottom: "data" top: "p"
                pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } })"),
        CASE("AvePoolPadCeil", {1, 3, 10, 11},
             R"(layer { name: "p" type: "Pooling" bottom: "data" top: "p"
                pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } })"),
        CASE("GlobalPools", {2, 3, 5, 7},
             R"(layer { name: "a" type: "Pooling" bottom: "data" top: "a"
                pooling_param { pool: AVE global_pooling: true } }
                layer { name: "m" type: "Pooling" bottom: "data" top: "m"
                pooling_param { pool: MAX global_pooling: true } })"),
        CASE("Relu", {2, 3, 4, 5},
             R"(layer { name: "a" type: "ReLU" bottom: "data" top: "a"  })"),
        CASE("LeakyRelu", {2, 3, 4, 5},
             R"(layer { name: "a" type: "ReLU" bottom: "data" top: "a" relu_param { negative_slope: 0.1 } })"),
        CASE("PRelu", {2, 3, 4, 5},
             R"(layer { name: "a" type: "PReLU" bottom: "data" top: "a"  })"),
        CASE("PReluShared", {2, 3, 4, 5},
             R"(layer { name: "a" type: "PReLU" bottom: "data" top: "a" prelu_param { channel_shared: true } })"),
        CASE("Sigmoid", {2, 3, 4, 5},
             R"(layer { name: "a" type: "Sigmoid" bottom: "data" top: "a"  })"),
        CASE("TanH", {2, 3, 4, 5},
             R"(layer { name: "a" type: "TanH" bottom: "data" top: "a"  })"),
        CASE("Elu", {2, 3, 4, 5},
             R"(layer { name: "a" type: "ELU" bottom: "data" top: "a" elu_param { alpha: 0.7 } })"),
        CASE("Clip", {2, 3, 4, 5},
             R"(layer { name: "a" type: "Clip" bottom: "data" top: "a" clip_param { min: -0.3 max: 0.6 } })"),
        CASE("AbsVal", {2, 3, 4, 5},
             R"(layer { name: "a" type: "AbsVal" bottom: "data" top: "a"  })"),
        CASE("Swish", {2, 3, 4, 5},
             R"(layer { name: "a" type: "Swish" bottom: "data" top: "a" swish_param { beta: 1.5 } })"),
        CASE("Power", {2, 3, 4, 5},
             R"(layer { name: "pw" type: "Power" bottom: "data" top: "pw"
                power_param { power: 2 scale: 0.5 shift: 2 } })"),
        CASE("PowerCubeSqrtGeneral", {2, 3, 4, 5},
             R"(layer { name: "p3" type: "Power" bottom: "data" top: "p3" power_param { power: 3 } }
                layer { name: "ps" type: "Power" bottom: "data" top: "ps" power_param { power: 0.5 } }
                layer { name: "pg" type: "Power" bottom: "data" top: "pg" power_param { power: 1.7 scale: 3 } })",
             0.1f, 2.f),
        CASE("ExpBase2", {2, 3, 4, 5},
             R"(layer { name: "ex" type: "Exp" bottom: "data" top: "ex"
                exp_param { base: 2 scale: 0.5 shift: 0.1 } })"),
        CASE("Exp", {2, 3, 4, 5},
             R"(layer { name: "ex" type: "Exp" bottom: "data" top: "ex" })"),
        CASE("LogBase10", {2, 3, 4, 5},
             R"(layer { name: "lg" type: "Log" bottom: "data" top: "lg"
                log_param { base: 10 scale: 2 shift: 3 } })"),
        CASE("Log", {2, 3, 4, 5},
             R"(layer { name: "lg" type: "Log" bottom: "data" top: "lg" })", 0.1f, 2.f),
        CASE("PowerExpLogChain", {2, 3, 4, 5},
             R"(layer { name: "pw" type: "Power" bottom: "data" top: "pw"
                power_param { power: 2 scale: 0.5 shift: 2 } }
                layer { name: "ex" type: "Exp" bottom: "data" top: "ex" exp_param { base: 2 scale: 0.5 shift: 0.1 } }
                layer { name: "ex2" type: "Exp" bottom: "data" top: "ex2" }
                layer { name: "lg" type: "Log" bottom: "pw" top: "lg" log_param { base: 10 scale: 2 shift: 1 } }
                layer { name: "lg2" type: "Log" bottom: "ex" top: "lg2" })"),
        CASE("Bnll", {2, 3, 4, 5},
             R"(layer { name: "b" type: "BNLL" bottom: "data" top: "b" })", -3.f, 3.f),
        CASE("UpsampleNearest", {2, 3, 4, 5},
             R"(layer { name: "u" type: "Upsample" bottom: "data" top: "u"
                upsample_param { scale_h: 2 scale_w: 3 } })"),
        CASE("UpsamplePadOut", {2, 3, 4, 5},
             R"(layer { name: "u" type: "Upsample" bottom: "data" top: "u"
                upsample_param { scale: 2 pad_out_h: true } })"),
        CASE("InterpZoom", {2, 3, 4, 5},
             R"(layer { name: "i" type: "Interp" bottom: "data" top: "i"
                interp_param { zoom_factor: 2 } })"),
        CASE("InterpSizeCrop", {2, 3, 6, 7},
             R"(layer { name: "i" type: "Interp" bottom: "data" top: "i"
                interp_param { height: 9 width: 4 pad_beg: -1 pad_end: -1 } })"),
        CASE("SilencedBranch", {2, 3},
             R"(layer { name: "r" type: "ReLU" bottom: "data" top: "r" }
                layer { name: "t" type: "TanH" bottom: "data" top: "t" }
                layer { name: "s" type: "Silence" bottom: "t" })"),
        CASE("Lrn", {2, 7, 4, 5},
             R"(layer { name: "n" type: "LRN" bottom: "data" top: "n"
                lrn_param { local_size: 5 alpha: 0.1 beta: 0.75 k: 2 } })"),
        CASE("BatchNormScaleInPlace", {2, 3, 4, 5},
             R"(layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" }
                layer { name: "sc" type: "Scale" bottom: "bn" top: "bn" scale_param { bias_term: true } }
                layer { name: "relu" type: "ReLU" bottom: "bn" top: "bn" })"),
        CASE("ScaleBiasAxes", {2, 3, 4, 5},
             R"(layer { name: "sc" type: "Scale" bottom: "data" top: "sc" scale_param { axis: 1 num_axes: 2 } }
                layer { name: "b" type: "Bias" bottom: "data" top: "b" bias_param { axis: 2 num_axes: 1 } }
                layer { name: "s2" type: "Scale" bottom: "data" bottom: "data2" top: "s2" })",
             -1.f, 1.f, {3, 4}),
        CASE("Eltwise", {2, 3, 4, 5},
             R"(layer { name: "sum" type: "Eltwise" bottom: "data" bottom: "data2" top: "sum"
                eltwise_param { operation: SUM coeff: 0.5 coeff: -2 } }
                layer { name: "prod" type: "Eltwise" bottom: "data" bottom: "data2" top: "prod"
                eltwise_param { operation: PROD } }
                layer { name: "max" type: "Eltwise" bottom: "data" bottom: "data2" top: "max"
                eltwise_param { operation: MAX } })",
             -1.f, 1.f, {2, 3, 4, 5}),
        CASE("ConcatSliceSplit", {2, 6, 4, 5},
             R"(layer { name: "sl" type: "Slice" bottom: "data" top: "a" top: "b" top: "c"
                slice_param { axis: 1 slice_point: 1 slice_point: 4 } }
                layer { name: "cat" type: "Concat" bottom: "c" bottom: "a" top: "cat" concat_param { axis: 1 } }
                layer { name: "sp" type: "Split" bottom: "b" top: "b1" top: "b2" }
                layer { name: "sum" type: "Eltwise" bottom: "b1" bottom: "b2" top: "sum" })"),
        CASE("SoftmaxAxes", {2, 3, 4, 5},
             R"(layer { name: "s1" type: "Softmax" bottom: "data" top: "s1" }
                layer { name: "s2" type: "Softmax" bottom: "data" top: "s2" softmax_param { axis: 3 } })"),
        CASE("FlattenReshapePermute", {2, 3, 4, 5},
             R"(layer { name: "f" type: "Flatten" bottom: "data" top: "f" }
                layer { name: "r" type: "Reshape" bottom: "data" top: "r"
                reshape_param { shape { dim: 0 dim: -1 dim: 10 } } }
                layer { name: "p" type: "Permute" bottom: "data" top: "p"
                permute_param { order: 0 order: 2 order: 3 order: 1 } })"),
        CASE("Crop", {2, 3, 9, 10},
             R"(layer { name: "cr" type: "Crop" bottom: "data" bottom: "data2" top: "cr"
                crop_param { axis: 2 offset: 1 offset: 3 } })",
             -1.f, 1.f, {2, 3, 5, 6}),
        CASE("ShuffleChannel", {2, 6, 3, 4},
             R"(layer { name: "sh" type: "ShuffleChannel" bottom: "data" top: "sh"
                shuffle_channel_param { group: 3 } })"),
        CASE("ArgMax", {2, 7, 3, 4},
             R"(layer { name: "am" type: "ArgMax" bottom: "data" top: "am" argmax_param { axis: 1 } })"),
        CASE("ArgMaxFlat", {2, 7, 3, 4},
             R"(layer { name: "am" type: "ArgMax" bottom: "data" top: "am" })"),
        CASE("Reduction", {2, 3, 4, 5},
             R"(layer { name: "sum" type: "Reduction" bottom: "data" top: "sum"
                reduction_param { operation: SUM axis: 1 coeff: 0.5 } }
                layer { name: "asum" type: "Reduction" bottom: "data" top: "asum"
                reduction_param { operation: ASUM axis: 2 } }
                layer { name: "sumsq" type: "Reduction" bottom: "data" top: "sumsq"
                reduction_param { operation: SUMSQ axis: 1 } }
                layer { name: "mean" type: "Reduction" bottom: "data" top: "mean"
                reduction_param { operation: MEAN axis: 3 } })"),
        CASE("Normalize", {2, 3, 4, 5},
             R"(layer { name: "n1" type: "Normalize" bottom: "data" top: "n1"
                norm_param { across_spatial: false channel_shared: false } }
                layer { name: "n2" type: "Normalize" bottom: "data" top: "n2" })")),
    [](const ::testing::TestParamInfo<LayerCase>& info) { return info.param.name; });

// --- Errors ---------------------------------------------------------------------

TEST(OnnxExportError, UnmappableLayerIsNamed) {
  Net net(ParseNet(InputLayer("data", {2, 3, 4, 5}) +
                   R"(layer { name: "odd_one" type: "MVN" bottom: "data" top: "b" })"));
  try {
    ExportOnnxBytes(net);
    FAIL() << "exporting an MVN layer did not throw";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("odd_one"), std::string::npos) << what;
    EXPECT_NE(what.find("MVN"), std::string::npos) << what;
  }
}

TEST(OnnxExportError, UnwritablePathIsNamed) {
  Net net(ParseNet(InputLayer("data", {1, 2}) +
                   R"(layer { name: "r" type: "ReLU" bottom: "data" top: "r" })"));
  try {
    ExportOnnx(net, "/nonexistent-dir/out.onnx");
    FAIL() << "writing to a missing folder did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/out.onnx"), std::string::npos);
  }
}

TEST(OnnxExportTool, WritesAFileOpenCvReads) {
  const std::string out = ::testing::TempDir() + "onnx_export_tool_lenet.onnx";
  std::remove(out.c_str());
  const std::string cmd = std::string(CORTADO_TOOL_PATH) + " export --model=" +
                          CORTADO_SOURCE_DIR + "/models/lenet/lenet.prototxt --weights=" +
                          CORTADO_SOURCE_DIR + "/models/lenet/lenet_fashion_mnist.caffemodel" +
                          " --batch=3 --onnx=" + out + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  cv::dnn::Net reference = cv::dnn::readNetFromONNX(out);
  std::vector<int> shape = {3, 1, 28, 28};
  cv::Mat input(4, shape.data(), CV_32F, cv::Scalar(0.5));
  reference.setInput(input);
  cv::Mat prob = reference.forward("prob");
  EXPECT_EQ(prob.total(), 30u);  // the batch of 3 was exported
  std::remove(out.c_str());
}

}  // namespace
}  // namespace cortado
