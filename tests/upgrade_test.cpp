// Legacy formats: V0 and V1 nets, V1 caffemodels, old data and solver fields
// upgrade on load, and the upgrade_* tools write the current format.
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "cortado/upgrade.hpp"
#include "conformance_dir.hpp"
#include "layer_case.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

const std::string kWeights = testing::ConformancePath("weights/");
const std::string kCifarDir = kWeights + "cifar10_quick_v1/";

caffe::NetParameter ParseText(const std::string& text) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "test", &param);
  return param;
}

const caffe::LayerParameter& FindLayer(const caffe::NetParameter& param,
                                       const std::string& name) {
  for (const auto& layer : param.layer()) {
    if (layer.name() == name) return layer;
  }
  ADD_FAILURE() << "no layer " << name;
  return caffe::LayerParameter::default_instance();
}

TEST(UpgradeTest, V1LayersBecomeCurrentLayers) {
  caffe::NetParameter param = ParseText(R"(
    name: "v1"
    layers { name: "data" type: DATA top: "data" top: "label"
             data_param { source: "db" batch_size: 4 scale: 0.5 mirror: true }
             include { phase: TRAIN } }
    layers { name: "conv" type: CONVOLUTION bottom: "data" top: "conv"
             blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0
             param: "w" param: "b" blob_share_mode: PERMISSIVE
             convolution_param { num_output: 8 kernel_size: 3 } }
    layers { name: "loss" type: SOFTMAX_LOSS bottom: "conv" bottom: "label"
             loss_weight: 2 }
  )");
  ASSERT_TRUE(NetNeedsUpgrade(param));
  EXPECT_TRUE(UpgradeNetAsNeeded("test", &param));
  EXPECT_EQ(param.layers_size(), 0);
  ASSERT_EQ(param.layer_size(), 3);
  const auto& data = param.layer(0);
  EXPECT_EQ(data.type(), "Data");
  EXPECT_EQ(data.top_size(), 2);
  ASSERT_EQ(data.include_size(), 1);
  EXPECT_EQ(data.include(0).phase(), caffe::TRAIN);
  EXPECT_EQ(data.data_param().source(), "db");
  EXPECT_FALSE(data.data_param().has_scale());  // moved into transform_param
  EXPECT_FLOAT_EQ(data.transform_param().scale(), 0.5f);
  EXPECT_TRUE(data.transform_param().mirror());

  const auto& conv = param.layer(1);
  EXPECT_EQ(conv.type(), "Convolution");
  EXPECT_EQ(conv.convolution_param().num_output(), 8u);
  ASSERT_EQ(conv.param_size(), 2);
  EXPECT_EQ(conv.param(0).name(), "w");
  EXPECT_EQ(conv.param(0).share_mode(), caffe::ParamSpec::PERMISSIVE);
  EXPECT_FLOAT_EQ(conv.param(0).lr_mult(), 1);
  EXPECT_FLOAT_EQ(conv.param(1).lr_mult(), 2);
  EXPECT_FLOAT_EQ(conv.param(0).decay_mult(), 1);
  EXPECT_FLOAT_EQ(conv.param(1).decay_mult(), 0);
  EXPECT_EQ(conv.param(1).name(), "b");

  const auto& loss = param.layer(2);
  EXPECT_EQ(loss.type(), "SoftmaxWithLoss");
  ASSERT_EQ(loss.loss_weight_size(), 1);
  EXPECT_FLOAT_EQ(loss.loss_weight(0), 2);
  EXPECT_FALSE(NetNeedsUpgrade(param));
  EXPECT_FALSE(UpgradeNetAsNeeded("test", &param));  // idempotent
}

TEST(UpgradeTest, EveryV1TypeHasAName) {
  const auto* type_enum = caffe::V1LayerParameter::LayerType_descriptor();
  for (int i = 0; i < type_enum->value_count(); ++i) {
    const auto type = static_cast<caffe::V1LayerParameter::LayerType>(type_enum->value(i)->number());
    if (type == caffe::V1LayerParameter::NONE) {
      EXPECT_THROW(UpgradeV1LayerType(type), Error);
    } else {
      EXPECT_FALSE(UpgradeV1LayerType(type).empty()) << type_enum->value(i)->name();
    }
  }
  EXPECT_EQ(UpgradeV1LayerType(caffe::V1LayerParameter::INNER_PRODUCT), "InnerProduct");
  EXPECT_EQ(UpgradeV1LayerType(caffe::V1LayerParameter::SOFTMAX_LOSS), "SoftmaxWithLoss");
  EXPECT_EQ(UpgradeV1LayerType(caffe::V1LayerParameter::IM2COL), "Im2col");
}

TEST(UpgradeTest, V0NetFoldsPaddingIntoTheNextConvolution) {
  caffe::NetParameter param = ParseText(R"(
    name: "v0"
    input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8
    layers { layer { name: "pad1" type: "padding" pad: 2 } bottom: "data" top: "pad1" }
    layers { layer { name: "conv1" type: "conv" num_output: 4 kernelsize: 5 stride: 1
                     group: 1 biasterm: false blobs_lr: 1 weight_decay: 1
                     weight_filler { type: "gaussian" std: 0.1 } }
             bottom: "pad1" top: "conv1" }
    layers { layer { name: "relu1" type: "relu" } bottom: "conv1" top: "conv1" }
    layers { layer { name: "pool1" type: "pool" pool: AVE kernelsize: 2 stride: 2 }
             bottom: "conv1" top: "pool1" }
    layers { layer { name: "norm1" type: "lrn" local_size: 3 alpha: 0.5 }
             bottom: "pool1" top: "norm1" }
    layers { layer { name: "drop" type: "dropout" dropout_ratio: 0.25 }
             bottom: "norm1" top: "norm1" }
    layers { layer { name: "ip" type: "innerproduct" num_output: 3 }
             bottom: "norm1" top: "ip" }
  )");
  ASSERT_TRUE(NetNeedsV0ToV1Upgrade(param));
  ASSERT_TRUE(UpgradeNetAsNeeded("v0 test", &param));
  ASSERT_EQ(param.layer_size(), 7);  // Input + six: the padding layer is gone
  EXPECT_EQ(param.layer(0).type(), "Input");
  const auto& conv = FindLayer(param, "conv1");
  EXPECT_EQ(conv.type(), "Convolution");
  ASSERT_EQ(conv.bottom_size(), 1);
  EXPECT_EQ(conv.bottom(0), "data");
  ASSERT_EQ(conv.convolution_param().pad_size(), 1);
  EXPECT_EQ(conv.convolution_param().pad(0), 2u);
  EXPECT_EQ(conv.convolution_param().kernel_size(0), 5u);
  EXPECT_FALSE(conv.convolution_param().bias_term());
  EXPECT_EQ(conv.convolution_param().weight_filler().type(), "gaussian");
  EXPECT_FLOAT_EQ(conv.param(0).lr_mult(), 1);
  const auto& pool = FindLayer(param, "pool1");
  EXPECT_EQ(pool.type(), "Pooling");
  EXPECT_EQ(pool.pooling_param().pool(), caffe::PoolingParameter::AVE);
  EXPECT_EQ(pool.pooling_param().kernel_size(), 2u);
  EXPECT_EQ(FindLayer(param, "norm1").lrn_param().local_size(), 3u);
  EXPECT_FLOAT_EQ(FindLayer(param, "drop").dropout_param().dropout_ratio(), 0.25f);
  EXPECT_EQ(FindLayer(param, "ip").inner_product_param().num_output(), 3u);
  EXPECT_FALSE(FindLayer(param, "relu1").has_convolution_param());

  // The upgraded net builds: 8x8 padded by 2 with a 5x5 kernel stays 8x8.
  Net net(param);
  EXPECT_EQ(net.blob_by_name("conv1")->shape(), (std::vector<int>{1, 4, 8, 8}));
  EXPECT_EQ(net.blob_by_name("ip")->shape(), (std::vector<int>{1, 3}));
}

TEST(UpgradeTest, V0DataLayerMovesPreprocessingIntoTransformParam) {
  caffe::NetParameter param = ParseText(R"(
    layers { layer { name: "data" type: "data" source: "db" batchsize: 16 scale: 0.25
                     meanfile: "mean.binaryproto" cropsize: 20 mirror: true rand_skip: 3 }
             top: "data" top: "label" }
  )");
  UpgradeNetAsNeeded("v0 data", &param);
  ASSERT_EQ(param.layer_size(), 1);
  const auto& data = param.layer(0);
  EXPECT_EQ(data.type(), "Data");
  EXPECT_EQ(data.data_param().source(), "db");
  EXPECT_EQ(data.data_param().batch_size(), 16u);
  EXPECT_EQ(data.data_param().rand_skip(), 3u);
  EXPECT_FLOAT_EQ(data.transform_param().scale(), 0.25f);
  EXPECT_EQ(data.transform_param().mean_file(), "mean.binaryproto");
  EXPECT_EQ(data.transform_param().crop_size(), 20u);
  EXPECT_TRUE(data.transform_param().mirror());
}

TEST(UpgradeTest, UnupgradableNetsThrowNamingTheLayer) {
  auto expect_error = [](const std::string& text, const std::string& needle) {
    caffe::NetParameter param = ParseText(text);
    try {
      UpgradeNetAsNeeded("bad.prototxt", &param);
      ADD_FAILURE() << "expected an upgrade error for " << text;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("bad.prototxt"), std::string::npos) << what;
      EXPECT_NE(what.find(needle), std::string::npos) << what;
    }
  };
  expect_error("layers { name: 'nothing' bottom: 'x' }", "'nothing'");
  expect_error("layers { layer { name: 'p' type: 'padding' pad: 1 } bottom: 'a' top: 'b' }\n"
               "layers { layer { name: 'r' type: 'relu' } bottom: 'b' top: 'c' }",
               "'r'");
  expect_error("layers { layer { name: 'odd' type: 'warp' } }", "'warp'");
  expect_error("layers { layer { name: 'relu' type: 'relu' kernelsize: 3 } }", "kernelsize");
  expect_error("layers { name: 'a' type: RELU }\nlayer { name: 'b' type: 'ReLU' }", "both");
  expect_error("layer { name: 'd' type: 'Data' data_param { scale: 2 } "
               "transform_param { scale: 3 } }", "'d'");
}

TEST(UpgradeTest, CurrentNetsAreLeftAlone) {
  caffe::NetParameter param = ParseText(
      "layer { name: 'in' type: 'Input' top: 'x' input_param { shape { dim: 1 } } }");
  const std::string before = param.SerializeAsString();
  EXPECT_FALSE(UpgradeNetAsNeeded("current", &param));
  EXPECT_EQ(param.SerializeAsString(), before);
}

// Old caffemodels carry `input: "data"` with no dims beside the Input layer
// that makes "data"; Caffe strips it, and Cortado refused the net.
TEST(UpgradeTest, NetLevelInputWithoutDimsIsStripped) {
  const char* text = R"(
    name: "leftover"
    input: "data"
    layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } }
    layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
            inner_product_param { num_output: 4 } }
  )";
  caffe::NetParameter param = ParseText(text);
  ASSERT_TRUE(UpgradeNetAsNeeded("leftover test", &param));
  EXPECT_EQ(param.input_size(), 0);
  ASSERT_EQ(param.layer_size(), 2);
  EXPECT_EQ(param.layer(0).name(), "data");
  Net net(ParseText(text));
  EXPECT_EQ(net.blob_by_name("ip")->shape(), (std::vector<int>{2, 4}));
  // Inputs that give dims are still checked.
  caffe::NetParameter bad = ParseText("input: 'data' input_dim: 1 input_dim: 2");
  EXPECT_THROW(UpgradeNetAsNeeded("bad", &bad), Error);
}

TEST(UpgradeTest, SolverTypeEnumBecomesTypeString) {
  caffe::SolverParameter param;
  ReadProtoFromTextString("solver_type: ADAM base_lr: 0.1", "solver", &param);
  EXPECT_TRUE(UpgradeSolverAsNeeded("solver", &param));
  EXPECT_EQ(param.type(), "Adam");
  EXPECT_FALSE(param.has_solver_type());
  EXPECT_FALSE(UpgradeSolverAsNeeded("solver", &param));
  caffe::SolverParameter conflict;
  ReadProtoFromTextString("solver_type: NESTEROV type: 'SGD'", "solver", &conflict);
  EXPECT_THROW(UpgradeSolverAsNeeded("solver", &conflict), Error);
}

// The V1 prototxt shipped with real legacy weights reads as a current net.
TEST(UpgradeTest, RealV1PrototxtUpgradesOnLoad) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(kCifarDir + "prediction_example_v1.prototxt", &param);
  EXPECT_EQ(param.layers_size(), 0);
  ASSERT_EQ(param.layer_size(), 16);
  EXPECT_EQ(param.layer(0).type(), "ImageData");
  EXPECT_EQ(param.layer(0).image_data_param().new_height(), 32u);
  EXPECT_EQ(param.layer(0).transform_param().mean_file(), "./examples/cifar10/mean.binaryproto");
  const auto& conv1 = FindLayer(param, "conv1");
  EXPECT_EQ(conv1.type(), "Convolution");
  ASSERT_EQ(conv1.param_size(), 2);
  EXPECT_FLOAT_EQ(conv1.param(1).lr_mult(), 2);
  EXPECT_EQ(FindLayer(param, "pool2").pooling_param().pool(), caffe::PoolingParameter::AVE);
  EXPECT_EQ(FindLayer(param, "argmax").type(), "ArgMax");
  EXPECT_EQ(FindLayer(param, "argmax").argmax_param().top_k(), 5u);
  EXPECT_EQ(FindLayer(param, "loss").type(), "SoftmaxWithLoss");
}

// Replaces the ImageData layer of the V1 prototxt with an Input layer of the
// same tops, so the legacy net runs without its image list.
caffe::NetParameter CifarV1WithInputs(int batch) {
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(kCifarDir + "prediction_example_v1.prototxt", &param);
  caffe::LayerParameter* data = param.mutable_layer(0);
  data->clear_image_data_param();
  data->clear_transform_param();
  data->set_type("Input");
  caffe::BlobShape* image = data->mutable_input_param()->add_shape();
  for (int d : {batch, 3, 32, 32}) image->add_dim(d);
  data->mutable_input_param()->add_shape()->add_dim(batch);
  param.mutable_state()->set_phase(caffe::TRAIN);  // ArgMax and Accuracy are TEST-only
  return param;
}

TEST(UpgradeTest, RealV1CaffemodelLoadsAndMatchesTheDeployNet) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const std::string weights = kCifarDir + "cifar10_quick_iter_5000.caffemodel";
  caffe::NetParameter raw;
  ReadProtoFromBinaryFile(weights, &raw);
  ASSERT_GT(raw.layers_size(), 0) << "the conformance file should be legacy V1";
  caffe::NetParameter upgraded;
  ReadNetParamsFromBinaryFile(weights, &upgraded);
  EXPECT_EQ(upgraded.layers_size(), 0);
  EXPECT_GT(upgraded.layer_size(), 0);

  Net deploy(kCifarDir + "cifar10_quick.prototxt", caffe::TEST);
  deploy.CopyTrainedLayersFrom(weights);
  // The conv1 weights are the file's, read through the legacy 4-d dims.
  const caffe::BlobProto* file_conv1 = nullptr;
  for (const auto& layer : raw.layers()) {
    if (layer.name() == "conv1") file_conv1 = &layer.blobs(0);
  }
  ASSERT_NE(file_conv1, nullptr);
  EXPECT_TRUE(file_conv1->has_num());  // legacy dims, no BlobShape
  const Blob* conv1 = deploy.layer_by_name("conv1")->blobs()[0].get();
  ASSERT_EQ(conv1->count(), file_conv1->data_size());
  for (int i = 0; i < file_conv1->data_size(); ++i) {
    ASSERT_EQ(conv1->cpu_data()[i], file_conv1->data(i)) << i;
  }

  // The V1 prototxt, upgraded, with the same weights computes the same scores.
  Net legacy(CifarV1WithInputs(1));
  legacy.CopyTrainedLayersFrom(weights);
  Blob* in_deploy = deploy.input_blobs()[0];
  Blob* in_legacy = legacy.blob_by_name("data");
  ASSERT_EQ(in_deploy->shape(), in_legacy->shape());
  testing::FillUniform(in_deploy, -60, 60, 5);
  std::copy(in_deploy->cpu_data(), in_deploy->cpu_data() + in_deploy->count(),
            in_legacy->mutable_cpu_data());
  legacy.blob_by_name("label")->mutable_cpu_data()[0] = 3;
  deploy.Forward();
  float loss = 0;
  legacy.Forward(&loss);
  EXPECT_TRUE(std::isfinite(loss));
  const Blob* a = deploy.blob_by_name("ip2");
  const Blob* b = legacy.blob_by_name("ip2");
  ASSERT_EQ(a->count(), 10);
  ASSERT_EQ(b->count(), 10);
  for (int i = 0; i < 10; ++i) EXPECT_FLOAT_EQ(a->cpu_data()[i], b->cpu_data()[i]);
  const Blob* prob = deploy.blob_by_name("prob");
  float sum = 0;
  for (int i = 0; i < 10; ++i) sum += prob->cpu_data()[i];
  EXPECT_NEAR(sum, 1.f, 1e-5f);
}

int RunTool(const std::string& tool, const std::string& in, const std::string& out) {
  const std::string command = std::string(CORTADO_TOOLS_DIR) + "/" + tool + " '" + in + "' '" +
                              out + "' > /dev/null 2>&1";
  return std::system(command.c_str());
}

TEST(UpgradeTest, UpgradeToolsWriteTheCurrentFormat) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  testing::TempDir dir;
  ASSERT_EQ(RunTool("upgrade_net_proto_text", kCifarDir + "prediction_example_v1.prototxt",
                    dir.File("net.prototxt")),
            0);
  caffe::NetParameter text;
  ReadProtoFromTextFile(dir.File("net.prototxt"), &text);  // no upgrade on this read
  EXPECT_EQ(text.layers_size(), 0);
  EXPECT_EQ(text.layer_size(), 16);
  EXPECT_FALSE(NetNeedsUpgrade(text));

  ASSERT_EQ(RunTool("upgrade_net_proto_binary",
                    kCifarDir + "cifar10_quick_iter_5000.caffemodel", dir.File("w.caffemodel")),
            0);
  caffe::NetParameter binary;
  ReadProtoFromBinaryFile(dir.File("w.caffemodel"), &binary);
  EXPECT_EQ(binary.layers_size(), 0);
  EXPECT_FALSE(NetNeedsUpgrade(binary));
  bool has_weights = false;
  for (const auto& layer : binary.layer()) has_weights |= layer.blobs_size() > 0;
  EXPECT_TRUE(has_weights);

  WriteFileAtomically(dir.File("old_solver.prototxt"), "solver_type: RMSPROP\nbase_lr: 0.01\n");
  ASSERT_EQ(RunTool("upgrade_solver_proto_text", dir.File("old_solver.prototxt"),
                    dir.File("solver.prototxt")),
            0);
  caffe::SolverParameter solver;
  ReadProtoFromTextFile(dir.File("solver.prototxt"), &solver);
  EXPECT_EQ(solver.type(), "RMSProp");
  EXPECT_FALSE(solver.has_solver_type());

  // Bad usage and unreadable input fail with a non-zero exit.
  EXPECT_NE(RunTool("upgrade_net_proto_text", dir.File("missing.prototxt"), dir.File("x")), 0);
}

}  // namespace
}  // namespace cortado
