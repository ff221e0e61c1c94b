// SummarizeNet, SetBatchSize and CheckWeights on small nets whose shapes,
// MACs and blob lifetimes are worked out by hand.
#include "cortado/net_summary.hpp"

#include <string>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "conformance_dir.hpp"
#include "resnet_prototxt.hpp"

namespace cortado {
namespace {

caffe::NetParameter Parse(const std::string& text) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "test net", &param);
  return param;
}

// data 2x3x8x8 -> conv 4x3x3 (pad 1) -> ReLU in place -> 2x2 max pool ->
// 10 outputs -> softmax.
const char kSmallNet[] = R"(
name: "small"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool"
        pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip"
        inner_product_param { num_output: 10 } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
)";

TEST(NetSummaryTest, ShapesParamsAndMacs) {
  Net net(Parse(kSmallNet));
  const NetSummary s = SummarizeNet(net);
  ASSERT_EQ(s.layers.size(), 6u);
  EXPECT_EQ(s.layers[1].type, "Convolution");
  EXPECT_EQ(s.layers[1].top_shapes[0], (std::vector<int>{2, 4, 8, 8}));
  EXPECT_EQ(s.layers[1].params, 4 * 3 * 9 + 4);
  EXPECT_EQ(s.layers[1].macs, 2 * 4 * 8 * 8 * (3 * 9));
  EXPECT_TRUE(s.layers[2].in_place);
  EXPECT_FALSE(s.layers[1].in_place);
  EXPECT_EQ(s.layers[3].macs, 2 * 4 * 4 * 4 * 4);  // 2x2 window per output
  EXPECT_EQ(s.layers[4].params, 10 * 64 + 10);
  EXPECT_EQ(s.layers[4].macs, 2 * 10 * 64);
  EXPECT_EQ(s.param_count, 4 * 3 * 9 + 4 + 10 * 64 + 10);
  EXPECT_EQ(s.param_bytes, 4 * s.param_count);
}

TEST(NetSummaryTest, PlannedMemoryFreesBlobsAfterTheirLastReader) {
  Net net(Parse(kSmallNet));
  const NetSummary s = SummarizeNet(net);
  const int64_t data = 2 * 3 * 64 * 4, conv = 2 * 4 * 64 * 4, pool = 2 * 4 * 16 * 4,
                ip = 2 * 10 * 4, prob = 2 * 10 * 4;
  EXPECT_EQ(s.inference_unplanned_bytes, data + conv + pool + ip + prob);
  // The most alive at once: data and conv while the convolution runs.
  EXPECT_EQ(s.inference_live_peak_bytes, data + conv);
  EXPECT_EQ(s.inference_planned_bytes, data + conv);
  EXPECT_EQ(s.training_unplanned_bytes, 2 * s.inference_unplanned_bytes);
}

TEST(NetSummaryTest, SplitTopsViewTheirBottom) {
  Net net(Parse(R"(
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 100 } } }
layer { name: "a" type: "ReLU" bottom: "data" top: "a" }
layer { name: "b" type: "TanH" bottom: "data" top: "b" }
)"));
  const NetSummary s = SummarizeNet(net);
  // data, its two split views (one storage), a and b.
  EXPECT_EQ(s.inference_unplanned_bytes, 3 * 400);
  // Split diffs are their own (the split sums them in backward).
  EXPECT_EQ(s.training_unplanned_bytes, 3 * 400 + 5 * 400);
}

TEST(NetSummaryTest, SetBatchSizeReachesInputsAndDataLayers) {
  caffe::NetParameter param = Parse(R"(
input: "legacy" input_shape { dim: 5 dim: 2 }
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 5 dim: 3 } } }
layer { name: "db" type: "Data" top: "y" data_param { source: "nowhere" batch_size: 5 } }
layer { name: "dummy" type: "DummyData" top: "z" dummy_data_param { shape { dim: 5 dim: 1 } } }
)");
  SetBatchSize(7, &param);
  EXPECT_EQ(param.input_shape(0).dim(0), 7);
  EXPECT_EQ(param.layer(0).input_param().shape(0).dim(0), 7);
  EXPECT_EQ(param.layer(0).input_param().shape(0).dim(1), 3);
  EXPECT_EQ(param.layer(1).data_param().batch_size(), 7u);
  EXPECT_EQ(param.layer(2).dummy_data_param().shape(0).dim(0), 7);
  EXPECT_THROW(SetBatchSize(0, &param), Error);
}

TEST(NetSummaryTest, CheckWeightsListsMissingMismatchedAndSkippedLayers) {
  Net net(Parse(kSmallNet));
  caffe::NetParameter weights;
  net.ToProto(&weights);
  EXPECT_TRUE(CheckWeights(net, weights).errors.empty());
  EXPECT_EQ(CheckWeights(net, weights).matched, 2);
  // A wider classifier, a layer the net lacks, and no conv at all.
  Net other(Parse(R"(
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 64 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 12 } }
layer { name: "extra" type: "InnerProduct" bottom: "ip" top: "extra" inner_product_param { num_output: 3 } }
)"));
  caffe::NetParameter wrong;
  other.ToProto(&wrong);
  const WeightsReport report = CheckWeights(net, wrong);
  EXPECT_EQ(report.matched, 0);
  EXPECT_EQ(report.skipped, std::vector<std::string>{"extra"});
  ASSERT_EQ(report.errors.size(), 3u);  // ip's two shapes, conv missing
  EXPECT_NE(report.errors[0].find("layer 'ip'"), std::string::npos) << report.errors[0];
  EXPECT_NE(report.errors[2].find("layer 'conv'"), std::string::npos) << report.errors[2];
}

TEST(NetSummaryTest, JsonHasTheTotals) {
  Net net(Parse(kSmallNet));
  const NetSummary s = SummarizeNet(net);
  const std::string json = NetSummaryToJson(s, nullptr);
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.back(), '}');
  EXPECT_NE(json.find("\"param_count\":" + std::to_string(s.param_count)), std::string::npos);
  EXPECT_NE(json.find("\"top_shapes\":[[2,4,8,8]]"), std::string::npos) << json;
  EXPECT_NE(json.find("\"training_planned_bytes\":null"), std::string::npos);
}

TEST(NetSummaryTest, TrainingPlanComesFromANetThatRunsBackward) {
  NetSummary s = SummarizeNet(Net(Parse(kSmallNet)));
  caffe::NetParameter param = Parse(kSmallNet);
  EXPECT_THROW(AddTrainingPlan(Net(param), &s), Error);  // nothing runs backward
  param.set_force_backward(true);
  AddTrainingPlan(Net(param), &s);
  EXPECT_GT(s.training_touched_bytes, 0);
  EXPECT_GT(s.training_planned_bytes, 0);
  EXPECT_LE(s.training_touched_bytes, s.training_unplanned_bytes);
  const std::string json = NetSummaryToJson(s, nullptr);
  EXPECT_NE(json.find("\"training_planned_bytes\":" + std::to_string(s.training_planned_bytes)),
            std::string::npos) << json;
}

// The generated ResNet (used at batch 256 by the check command's test) is
// the same net as the conformance set's ResNet-50.
TEST(NetSummaryTest, GeneratedResNet50MatchesTheBenchNet) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  Net bench(testing::ConformancePath("bench/resnet50_deploy.prototxt"), caffe::TEST);
  Net generated(Parse(testing::ResNetPrototxt("ResNet-50", {3, 4, 6, 3}, 1)));
  const NetSummary a = SummarizeNet(bench), b = SummarizeNet(generated);
  EXPECT_EQ(a.layers.size(), b.layers.size());
  EXPECT_EQ(a.param_count, b.param_count);
  EXPECT_EQ(a.total_macs, b.total_macs);
  EXPECT_EQ(a.inference_unplanned_bytes, b.inference_unplanned_bytes);
  EXPECT_EQ(a.inference_planned_bytes, b.inference_planned_bytes);
  // 3.9 G multiply-accumulates is ResNet-50's published cost.
  EXPECT_NEAR(a.total_macs / 1e9, 3.9, 0.1);
}

}  // namespace
}  // namespace cortado
