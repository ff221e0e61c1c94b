// Inference fusion on small nets, one per pattern: which layers fuse, which
// blobs are elided, outputs against the same net unfused, refolding after
// parameters change, and that parameters and saved weights stay the originals.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/blob_memory_plan.hpp"
#include "cortado/inference_fusion.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "layer_case.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

std::unique_ptr<Net> Build(const std::string& text, bool fuse) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "fusion test net", &param);
  param.mutable_state()->set_phase(caffe::TEST);
  if (!fuse) param.set_fuse_inference(false);
  return std::make_unique<Net>(param);
}

// Random parameters everywhere; BatchNorm statistics with a positive
// variance and a decay weight that is not 1, so the division is exercised.
void Randomize(Net* net, unsigned seed) {
  for (const auto& layer : net->layers()) {
    auto& blobs = layer->blobs();
    if (std::string(layer->type()) == "BatchNorm") {
      testing::FillGaussian(blobs[0].get(), 0.f, 1.f, seed++);
      testing::FillUniform(blobs[1].get(), 0.5f, 3.f, seed++);
      blobs[2]->mutable_cpu_data()[0] = 2.5f;
      continue;
    }
    for (auto& blob : blobs) testing::FillGaussian(blob.get(), 0.f, 0.5f, seed++);
  }
}

void CopyParams(const Net& from, Net* to) {
  caffe::NetParameter weights;
  from.ToProto(&weights);
  to->CopyTrainedLayersFrom(weights);
}

void FillInputs(Net* net, unsigned seed) {
  for (Blob* input : net->input_blobs()) testing::FillGaussian(input, 0.f, 1.f, seed++);
}

std::vector<float> Values(const Blob& blob) {
  return std::vector<float>(blob.cpu_data(), blob.cpu_data() + blob.count());
}

// |a - b| at most 1e-5 of b's largest magnitude, element by element.
void ExpectClose(const Blob& expected, const Blob& actual, const std::string& what) {
  ASSERT_EQ(expected.shape(), actual.shape()) << what;
  float scale = 0;
  for (int64_t i = 0; i < expected.count(); ++i) {
    scale = std::max(scale, std::fabs(expected.cpu_data()[i]));
  }
  const float tolerance = 1e-5f * std::max(scale, 1e-6f);
  for (int64_t i = 0; i < expected.count(); ++i) {
    ASSERT_NEAR(expected.cpu_data()[i], actual.cpu_data()[i], tolerance)
        << what << " element " << i;
  }
}

// A fused and an unfused copy of one net, with the same parameters and inputs.
struct NetPair {
  std::unique_ptr<Net> fused, plain;

  explicit NetPair(const std::string& text, unsigned seed = 1) {
    fused = Build(text, true);
    plain = Build(text, false);
    Randomize(fused.get(), seed);
    CopyParams(*fused, plain.get());
    FillInputs(fused.get(), 100);
    FillInputs(plain.get(), 100);
  }

  void ForwardAndCompare() {
    fused->Forward();
    plain->Forward();
    for (size_t i = 0; i < plain->output_blobs().size(); ++i) {
      const int id = plain->output_blob_indices()[i];
      ExpectClose(*plain->output_blobs()[i], *fused->output_blobs()[i], plain->blob_names()[id]);
    }
  }

  int Layer(const std::string& name) const {
    const auto& names = fused->layer_names();
    return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
  }
};

// MobileNet v2's shape: BatchNorm out of place, then Scale and ReLU in place.
const char kConvBnNet[] = R"(
  layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 dim: 7 dim: 6 } } }
  layer { name: "conv1" type: "Convolution" bottom: "x" top: "conv1"
          convolution_param { num_output: 5 kernel_size: 3 pad: 1 stride: 1 } }
  layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1/bn" }
  layer { name: "scale1" type: "Scale" bottom: "conv1/bn" top: "conv1/bn"
          scale_param { bias_term: true } }
  layer { name: "relu1" type: "ReLU" bottom: "conv1/bn" top: "conv1/bn" }
)";

TEST(InferenceFusionTest, ConvBatchNormScaleReluAfterConvolution) {
  NetPair nets(kConvBnNet);
  ASSERT_NE(nets.fused->fusion(), nullptr);
  ASSERT_EQ(nets.fused->fusion()->chains().size(), 1u);
  const auto& chain = *nets.fused->fusion()->chains()[0];
  EXPECT_EQ(chain.head, nets.Layer("conv1"));
  EXPECT_EQ(chain.members.size(), 3u);
  EXPECT_TRUE(chain.epilogue.relu);
  EXPECT_EQ(nets.fused->elided_blobs(), std::vector<std::string>{"conv1"});
  for (const char* name : {"bn1", "scale1", "relu1"}) {
    EXPECT_TRUE(nets.fused->layer_fused_away(nets.Layer(name))) << name;
  }
  EXPECT_FALSE(nets.fused->layer_fused_away(nets.Layer("conv1")));
  EXPECT_EQ(nets.plain->fusion(), nullptr);
  nets.ForwardAndCompare();
  // The ReLU really ran: no negative value survives.
  const Blob& out = *nets.fused->blob_by_name("conv1/bn");
  EXPECT_GE(*std::min_element(out.cpu_data(), out.cpu_data() + out.count()), 0.f);
}

// 1x1 convolutions of single images take the GEMM-into-output path; batches
// take the scatter path: both must apply the epilogue.
TEST(InferenceFusionTest, OneByOneConvolutionSingleImage) {
  std::string text = kConvBnNet;
  text.replace(text.find("dim: 2 dim: 3"), 13, "dim: 1 dim: 3");
  text.replace(text.find("kernel_size: 3 pad: 1"), 21, "kernel_size: 1 pad: 0");
  NetPair nets(text);
  ASSERT_NE(nets.fused->fusion(), nullptr);
  nets.ForwardAndCompare();
}

// Depthwise convolutions have their own kernels; the epilogue follows them.
TEST(InferenceFusionTest, DepthwiseConvolution) {
  std::string text = kConvBnNet;
  text.replace(text.find("num_output: 5"), 13, "num_output: 3 group: 3");
  NetPair nets(text);
  ASSERT_NE(nets.fused->fusion(), nullptr);
  nets.ForwardAndCompare();
}

TEST(InferenceFusionTest, InnerProductBatchNormScaleLeakyRelu) {
  NetPair nets(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 3 dim: 4 dim: 2 dim: 2 } } }
    layer { name: "ip" type: "InnerProduct" bottom: "x" top: "ip" inner_product_param { num_output: 6 } }
    layer { name: "bn" type: "BatchNorm" bottom: "ip" top: "ip" }
    layer { name: "scale" type: "Scale" bottom: "ip" top: "ip" }
    layer { name: "relu" type: "ReLU" bottom: "ip" top: "ip" relu_param { negative_slope: 0.1 } }
  )");
  ASSERT_NE(nets.fused->fusion(), nullptr);
  ASSERT_EQ(nets.fused->fusion()->chains().size(), 1u);
  EXPECT_EQ(nets.fused->fusion()->chains()[0]->members.size(), 3u);
  EXPECT_TRUE(nets.fused->elided_blobs().empty());  // all in place
  nets.ForwardAndCompare();
}

TEST(InferenceFusionTest, TransposedInnerProductWithoutBias) {
  NetPair nets(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 3 dim: 5 } } }
    layer { name: "ip" type: "InnerProduct" bottom: "x" top: "ip"
            inner_product_param { num_output: 4 transpose: true bias_term: false } }
    layer { name: "bn" type: "BatchNorm" bottom: "ip" top: "bn" }
    layer { name: "relu" type: "ReLU" bottom: "bn" top: "relu" }
  )");
  ASSERT_NE(nets.fused->fusion(), nullptr);
  EXPECT_EQ(nets.fused->elided_blobs(), (std::vector<std::string>{"ip", "bn"}));
  nets.ForwardAndCompare();
}

// A ResNet block: the projection shortcut first, then the residual branch,
// whose last convolution adds the shortcut and rectifies.
const char kResidualNet[] = R"(
  layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 4 dim: 5 dim: 5 } } }
  layer { name: "short" type: "Convolution" bottom: "x" top: "short"
          convolution_param { num_output: 6 kernel_size: 1 } }
  layer { name: "short_bn" type: "BatchNorm" bottom: "short" top: "short" }
  layer { name: "short_scale" type: "Scale" bottom: "short" top: "short" scale_param { bias_term: true } }
  layer { name: "branch" type: "Convolution" bottom: "x" top: "branch"
          convolution_param { num_output: 6 kernel_size: 3 pad: 1 bias_term: false } }
  layer { name: "branch_bn" type: "BatchNorm" bottom: "branch" top: "branch" }
  layer { name: "branch_scale" type: "Scale" bottom: "branch" top: "branch" scale_param { bias_term: true } }
  layer { name: "sum" type: "Eltwise" bottom: "short" bottom: "branch" top: "sum" }
  layer { name: "sum_relu" type: "ReLU" bottom: "sum" top: "sum" }
)";

TEST(InferenceFusionTest, ConvolutionEltwiseSumRelu) {
  NetPair nets(kResidualNet);
  ASSERT_NE(nets.fused->fusion(), nullptr);
  const auto& chains = nets.fused->fusion()->chains();
  ASSERT_EQ(chains.size(), 2u);
  // The shortcut cannot take the sum: the branch is written after it runs.
  EXPECT_EQ(chains[0]->head, nets.Layer("short"));
  EXPECT_EQ(chains[0]->members.size(), 2u);
  EXPECT_EQ(chains[1]->head, nets.Layer("branch"));
  EXPECT_EQ(chains[1]->members.size(), 4u);
  EXPECT_EQ(chains[1]->epilogue.addend, nets.fused->blob_by_name("short"));
  EXPECT_TRUE(nets.fused->layer_fused_away(nets.Layer("sum")));
  EXPECT_EQ(nets.fused->elided_blobs(), std::vector<std::string>{"branch"});
  nets.ForwardAndCompare();
}

// The same block with the shortcut computed last: then the shortcut's
// convolution is the one that can add the (finished) branch.
TEST(InferenceFusionTest, EltwiseGoesToTheConvolutionThatRunsLast) {
  std::string text = kResidualNet;
  const size_t begin = text.find("  layer { name: \"short\"");
  const size_t end = text.find("  layer { name: \"branch\"");
  const std::string shortcut = text.substr(begin, end - begin);
  text.erase(begin, end - begin);
  text.insert(text.find("  layer { name: \"sum\""), shortcut);
  NetPair nets(text);
  ASSERT_NE(nets.fused->fusion(), nullptr);
  const auto& chains = nets.fused->fusion()->chains();
  ASSERT_EQ(chains.size(), 2u);
  EXPECT_EQ(chains[1]->head, nets.Layer("short"));
  EXPECT_EQ(chains[1]->epilogue.addend, nets.fused->blob_by_name("branch"));
  nets.ForwardAndCompare();
}

TEST(InferenceFusionTest, EltwiseWithCoefficientsIsNotFused) {
  std::string text = kResidualNet;
  text.replace(text.find("top: \"sum\" }"), 12,
               "top: \"sum\" eltwise_param { coeff: 1 coeff: -1 } }");
  NetPair nets(text);
  ASSERT_NE(nets.fused->fusion(), nullptr);
  EXPECT_FALSE(nets.fused->layer_fused_away(nets.Layer("sum")));
  nets.ForwardAndCompare();
}

TEST(InferenceFusionTest, DropoutIsSkipped) {
  NetPair nets(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 8 } } }
    layer { name: "drop0" type: "Dropout" bottom: "x" top: "x" }
    layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "ip1" inner_product_param { num_output: 6 } }
    layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
    layer { name: "drop1" type: "Dropout" bottom: "ip1" top: "d1" dropout_param { dropout_ratio: 0.7 } }
    layer { name: "ip2" type: "InnerProduct" bottom: "d1" top: "ip2" inner_product_param { num_output: 3 } }
  )");
  ASSERT_NE(nets.fused->fusion(), nullptr);
  EXPECT_TRUE(nets.fused->fusion()->dropped(nets.Layer("drop0")));
  EXPECT_TRUE(nets.fused->layer_fused_away(nets.Layer("relu1")));
  EXPECT_TRUE(nets.fused->layer_fused_away(nets.Layer("drop1")));
  EXPECT_EQ(nets.fused->elided_blobs(), std::vector<std::string>{"ip1"});
  nets.ForwardAndCompare();
  ExpectClose(*nets.plain->blob_by_name("d1"), *nets.fused->blob_by_name("d1"), "d1");
}

// Without scale_train, TEST multiplies by 1 - ratio: not the identity.
TEST(InferenceFusionTest, DropoutThatScalesAtTestRuns) {
  NetPair nets(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 8 } } }
    layer { name: "drop0" type: "Dropout" bottom: "x" top: "x"
            dropout_param { dropout_ratio: 0.5 scale_train: false } }
    layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "ip1" inner_product_param { num_output: 6 } }
  )");
  EXPECT_EQ(nets.fused->fusion(), nullptr);
  nets.ForwardAndCompare();
}

TEST(InferenceFusionTest, KeptBlobIsNotElided) {
  NetPair nets(kConvBnNet);
  ASSERT_EQ(nets.fused->elided_blobs(), std::vector<std::string>{"conv1"});
  nets.fused->KeepBlobs({"conv1"});
  EXPECT_TRUE(nets.fused->elided_blobs().empty());
  EXPECT_FALSE(nets.fused->layer_fused_away(nets.Layer("bn1")));
  nets.ForwardAndCompare();
  // The kept blob holds what the unfused net computes, bit for bit (its
  // convolution ran alone).
  EXPECT_EQ(Values(*nets.plain->blob_by_name("conv1")), Values(*nets.fused->blob_by_name("conv1")));
  EXPECT_THROW(nets.fused->KeepBlobs({"no_such_blob"}), Error);
}

// A kept blob that a chain writes in place is not elided; the chain stays.
TEST(InferenceFusionTest, KeptInPlaceBlobStillFuses) {
  NetPair nets(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 5 } } }
    layer { name: "ip" type: "InnerProduct" bottom: "x" top: "ip" inner_product_param { num_output: 4 } }
    layer { name: "relu" type: "ReLU" bottom: "ip" top: "ip" }
  )");
  nets.fused->KeepBlobs({"ip"});
  ASSERT_NE(nets.fused->fusion(), nullptr);
  EXPECT_TRUE(nets.fused->layer_fused_away(nets.Layer("relu")));
  nets.ForwardAndCompare();
}

TEST(InferenceFusionTest, ChangedParametersAreRefolded) {
  NetPair nets(kResidualNet);
  nets.ForwardAndCompare();
  const std::vector<float> before = Values(*nets.fused->output_blobs()[0]);
  // Written through the parameter blobs, as a solver or net surgery would.
  for (Net* net : {nets.fused.get(), nets.plain.get()}) {
    net->layer_by_name("branch")->blobs()[0]->scale_data(-2.f);
    float* variance = net->layer_by_name("short_bn")->blobs()[1]->mutable_cpu_data();
    for (int i = 0; i < 6; ++i) variance[i] *= 4.f;
  }
  nets.ForwardAndCompare();
  EXPECT_NE(before, Values(*nets.fused->output_blobs()[0]));
  // And through loading weights.
  std::unique_ptr<Net> other = Build(kResidualNet, false);
  Randomize(other.get(), 77);
  CopyParams(*other, nets.fused.get());
  CopyParams(*other, nets.plain.get());
  nets.ForwardAndCompare();
}

TEST(InferenceFusionTest, ParametersAndSavedWeightsStayOriginal) {
  NetPair nets(kConvBnNet);
  std::vector<std::vector<float>> original;
  for (const Blob* p : nets.fused->params()) original.push_back(Values(*p));
  nets.fused->Forward();
  EXPECT_EQ(nets.fused->params().size(), nets.plain->params().size());
  for (size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(original[i], Values(*nets.fused->params()[i])) << "param " << i;
  }
  // Saved, the weights are the unfused net's, blob for blob.
  testing::TempDir dir;
  caffe::NetParameter saved, expected;
  nets.fused->ToProto(&saved);
  WriteProtoToBinaryFile(saved, dir.File("fused.caffemodel"));
  nets.plain->ToProto(&expected);
  caffe::NetParameter reread;
  ReadNetParamsFromBinaryFile(dir.File("fused.caffemodel"), &reread);
  ASSERT_EQ(reread.layer_size(), expected.layer_size());
  for (int l = 0; l < expected.layer_size(); ++l) {
    ASSERT_EQ(reread.layer(l).blobs_size(), expected.layer(l).blobs_size());
    for (int b = 0; b < expected.layer(l).blobs_size(); ++b) {
      EXPECT_EQ(reread.layer(l).blobs(b).SerializeAsString(),
                expected.layer(l).blobs(b).SerializeAsString())
          << expected.layer(l).name() << " blob " << b;
    }
  }
}

// fuse_inference: false runs exactly the unfused computation: the same bits
// as a net that cannot fuse at all (force_backward).
TEST(InferenceFusionTest, FieldOffIsBitIdenticalToNoFusion) {
  const std::string text = std::string("fuse_inference: false\n") + kResidualNet;
  std::unique_ptr<Net> off = Build(text, true);
  std::unique_ptr<Net> never = Build(std::string("force_backward: true\n") + kResidualNet, true);
  std::unique_ptr<Net> on = Build(kResidualNet, true);
  EXPECT_FALSE(off->fuse_inference());
  EXPECT_EQ(off->fusion(), nullptr);
  EXPECT_EQ(never->fusion(), nullptr);
  ASSERT_NE(on->fusion(), nullptr);
  Randomize(off.get(), 5);
  CopyParams(*off, never.get());
  CopyParams(*off, on.get());
  for (Net* net : {off.get(), never.get(), on.get()}) {
    FillInputs(net, 9);
    net->Forward();
  }
  EXPECT_EQ(Values(*never->output_blobs()[0]), Values(*off->output_blobs()[0]));
  // Fused differs in rounding only (so the comparison above could fail).
  ExpectClose(*never->output_blobs()[0], *on->output_blobs()[0], "sum");
  // Turned off at run time, the net is unfused again.
  on->set_fuse_inference(false);
  EXPECT_EQ(on->fusion(), nullptr);
  on->Forward();
  EXPECT_EQ(Values(*never->output_blobs()[0]), Values(*on->output_blobs()[0]));
}

// A range that cuts a chain runs its layers one by one, so the blob between
// is written and the range's last layer's output is what Caffe gives.
TEST(InferenceFusionTest, PartialRangeRunsChainUnfused) {
  NetPair nets(kConvBnNet);
  const int bn = nets.Layer("bn1");
  nets.fused->ForwardFromTo(0, bn);
  nets.plain->ForwardFromTo(0, bn);
  EXPECT_EQ(Values(*nets.plain->blob_by_name("conv1")), Values(*nets.fused->blob_by_name("conv1")));
  EXPECT_EQ(Values(*nets.plain->blob_by_name("conv1/bn")),
            Values(*nets.fused->blob_by_name("conv1/bn")));
}

// ForwardLayer (cortado time) runs the chain at its head, nothing elsewhere.
TEST(InferenceFusionTest, ForwardLayerRunsChainAtItsHead) {
  NetPair nets(kConvBnNet);
  nets.plain->Forward();
  for (int i = 0; i < static_cast<int>(nets.fused->layers().size()); ++i) nets.fused->ForwardLayer(i);
  ExpectClose(*nets.plain->blob_by_name("conv1/bn"), *nets.fused->blob_by_name("conv1/bn"), "out");
}

// A train_val net's TEST phase has losses, so its layers would compute
// gradients and it is neither fused nor planned as inference, unless the
// caller says it only ever runs forward (solver test nets under `cortado
// train`, `cortado test`). Then it is both, with the same outputs, and
// Backward is an error.
TEST(InferenceFusionTest, ForwardOnlyNetWithLossesFuses) {
  const std::string text = std::string(kConvBnNet) + R"(
  layer { name: "labels" type: "Input" top: "label" input_param { shape { dim: 2 } } }
  layer { name: "ip" type: "InnerProduct" bottom: "conv1/bn" top: "ip" inner_product_param { num_output: 3 } }
  layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
)";
  NetPair nets(text);
  for (auto& net : {nets.fused.get(), nets.plain.get()}) {
    net->input_blobs()[1]->mutable_cpu_data()[0] = 1;
    net->input_blobs()[1]->mutable_cpu_data()[1] = 2;
  }
  EXPECT_EQ(nets.fused->fusion(), nullptr);  // the loss wants gradients
  nets.fused->set_plan_memory(true);
  EXPECT_TRUE(nets.fused->memory_plan()->training);
  nets.fused->set_forward_only(true);
  ASSERT_NE(nets.fused->fusion(), nullptr);
  EXPECT_TRUE(nets.fused->layer_fused_away(nets.Layer("bn1")));
  ASSERT_NE(nets.fused->memory_plan(), nullptr);
  EXPECT_FALSE(nets.fused->memory_plan()->training);
  nets.ForwardAndCompare();
  try {
    nets.fused->Backward();
    FAIL() << "Backward ran on a forward-only net";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("forward only"), std::string::npos) << e.what();
  }
  nets.fused->set_forward_only(false);
  EXPECT_EQ(nets.fused->fusion(), nullptr);
  EXPECT_TRUE(nets.fused->memory_plan()->training);
  nets.fused->Forward();
  nets.fused->Backward();
}

}  // namespace
}  // namespace cortado
