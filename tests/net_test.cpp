// Net construction: phase/stage/level rules, splits, sharing, in-place
// layers, loss weights, backward-need analysis, weights save/load.
#include <cmath>
#include <string>

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "conformance_dir.hpp"
#include "layer_case.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

caffe::NetParameter ParseNet(const std::string& text) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "test net", &param);
  return param;
}

std::vector<std::string> LayerNames(const Net& net) { return net.layer_names(); }

const char kPhasedNet[] = R"(
  name: "phased"
  layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
  layer { name: "train_only" type: "ReLU" bottom: "x" top: "a" include { phase: TRAIN } }
  layer { name: "test_only" type: "ReLU" bottom: "x" top: "b" include { phase: TEST } }
  layer { name: "not_in_deploy" type: "ReLU" bottom: "x" top: "c" exclude { stage: "deploy" } }
  layer { name: "level2" type: "ReLU" bottom: "x" top: "d" include { min_level: 2 } }
  layer { name: "needs_both" type: "ReLU" bottom: "x" top: "e"
          include { stage: "s1" stage: "s2" } }
  layer { name: "not_s1" type: "ReLU" bottom: "x" top: "f" include { not_stage: "s1" } }
)";

Net BuildWithState(caffe::Phase phase, int level, std::vector<std::string> stages) {
  caffe::NetParameter param = ParseNet(kPhasedNet);
  param.mutable_state()->set_phase(phase);
  param.mutable_state()->set_level(level);
  for (auto& s : stages) param.mutable_state()->add_stage(s);
  return Net(param);
}

TEST(NetFilterTest, PhaseStageAndLevelRules) {
  caffe::NetParameter param = ParseNet(kPhasedNet);
  auto names = [&](caffe::Phase phase, int level, std::vector<std::string> stages) {
    caffe::NetParameter p(param), filtered;
    p.mutable_state()->set_phase(phase);
    p.mutable_state()->set_level(level);
    for (auto& s : stages) p.mutable_state()->add_stage(s);
    Net::FilterNet(p, &filtered);
    std::vector<std::string> out;
    for (const auto& l : filtered.layer()) out.push_back(l.name());
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(caffe::TRAIN, 0, {}), (V{"in", "train_only", "not_in_deploy", "not_s1"}));
  EXPECT_EQ(names(caffe::TEST, 0, {}), (V{"in", "test_only", "not_in_deploy", "not_s1"}));
  EXPECT_EQ(names(caffe::TEST, 2, {"deploy"}), (V{"in", "test_only", "level2", "not_s1"}));
  EXPECT_EQ(names(caffe::TRAIN, 0, {"s1", "s2"}),
            (V{"in", "train_only", "not_in_deploy", "needs_both"}));
  EXPECT_EQ(names(caffe::TRAIN, 0, {"s1"}), (V{"in", "train_only", "not_in_deploy"}));
}

TEST(NetFilterTest, IncludeAndExcludeTogetherIsAnError) {
  caffe::NetParameter param = ParseNet(R"(
    layer { name: "x" type: "ReLU" include { phase: TRAIN } exclude { phase: TEST } })");
  caffe::NetParameter filtered;
  try {
    Net::FilterNet(param, &filtered);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
  }
}

TEST(NetTest, BuildsTheNetOfTheRequestedState) {
  Net net = BuildWithState(caffe::TEST, 2, {"s1", "s2"});
  EXPECT_TRUE(net.has_layer("test_only"));
  EXPECT_FALSE(net.has_layer("train_only"));
  EXPECT_TRUE(net.has_layer("level2"));
  EXPECT_TRUE(net.has_layer("needs_both"));
  EXPECT_EQ(net.phase(), caffe::TEST);
  // x feeds five layers, so a Split layer fans it out.
  EXPECT_TRUE(net.has_layer("x_in_0_split"));
}

TEST(NetTest, SplitInsertionNamesAndGradientSum) {
  caffe::NetParameter param = ParseNet(R"(
    force_backward: true
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
    layer { name: "a" type: "ReLU" bottom: "x" top: "a" }
    layer { name: "b" type: "ReLU" bottom: "x" top: "b" }
  )");
  caffe::NetParameter split;
  Net::InsertSplits(param, &split);
  ASSERT_EQ(split.layer_size(), 4);
  EXPECT_EQ(split.layer(1).name(), "x_in_0_split");
  EXPECT_EQ(split.layer(1).type(), "Split");
  EXPECT_EQ(split.layer(1).top(0), "x_in_0_split_0");
  EXPECT_EQ(split.layer(1).top(1), "x_in_0_split_1");
  EXPECT_EQ(split.layer(2).bottom(0), "x_in_0_split_0");
  EXPECT_EQ(split.layer(3).bottom(0), "x_in_0_split_1");

  Net net(param);
  Blob* x = net.blob_by_name("x");
  ASSERT_NE(x, nullptr);
  for (int i = 0; i < 6; ++i) x->mutable_cpu_data()[i] = float(i + 1);
  net.Forward();
  Blob* a = net.blob_by_name("a");
  Blob* b = net.blob_by_name("b");
  for (int i = 0; i < 6; ++i) {
    a->mutable_cpu_diff()[i] = 1.f;
    b->mutable_cpu_diff()[i] = 10.f;
  }
  net.Backward();
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(x->cpu_diff()[i], 11.f);
}

TEST(NetTest, SplitOfALossCarriesTheLossWeight) {
  caffe::NetParameter param = ParseNet(R"(
    layer { name: "in" type: "Input" top: "x" top: "y"
            input_param { shape { dim: 2 dim: 3 } } }
    layer { name: "l" type: "ReLU" bottom: "x" top: "r" loss_weight: 3 }
    layer { name: "s" type: "Silence" bottom: "r" bottom: "y" }
  )");
  caffe::NetParameter split;
  Net::InsertSplits(param, &split);
  ASSERT_EQ(split.layer_size(), 4);
  const auto& splitter = split.layer(2);
  EXPECT_EQ(splitter.type(), "Split");
  ASSERT_EQ(splitter.loss_weight_size(), 2);
  EXPECT_EQ(splitter.loss_weight(0), 3.f);
  EXPECT_EQ(splitter.loss_weight(1), 0.f);
  EXPECT_EQ(split.layer(1).loss_weight(0), 0.f);
  EXPECT_EQ(split.layer(3).bottom(0), "r_l_0_split_1");
}

TEST(NetTest, InPlaceLayersShareTheBlob) {
  Net net(ParseNet(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 4 } } }
    layer { name: "relu" type: "ReLU" bottom: "x" top: "x" }
  )"));
  EXPECT_EQ(net.blobs().size(), 1u);
  EXPECT_EQ(net.top_vecs()[1][0], net.bottom_vecs()[1][0]);
  Blob* x = net.blob_by_name("x");
  const float values[] = {-1, 2, -3, 4};
  std::copy(values, values + 4, x->mutable_cpu_data());
  net.Forward();
  EXPECT_EQ(x->cpu_data()[0], 0.f);
  EXPECT_EQ(x->cpu_data()[1], 2.f);
  ASSERT_EQ(net.output_blobs().size(), 1u);
  EXPECT_EQ(net.output_blobs()[0], x);
}

const char kTwoLossNet[] = R"(
  layer { name: "in" type: "Input" top: "x" top: "label"
          input_param { shape { dim: 4 dim: 5 } shape { dim: 4 } } }
  layer { name: "ip" type: "InnerProduct" bottom: "x" top: "ip"
          inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.5 } } }
  layer { name: "loss_a" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "la"
          loss_weight: 2 }
  layer { name: "loss_b" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "lb"
          loss_weight: 0.5 }
)";

TEST(NetTest, LossWeightsScaleTheTotalLoss) {
  Net net(ParseNet(kTwoLossNet));
  testing::FillGaussian(net.blob_by_name("x"), 0, 1, 7);
  testing::FillLabels(net.blob_by_name("label"), 3, 8);
  float loss = 0;
  net.Forward(&loss);
  const float la = net.blob_by_name("la")->cpu_data()[0];
  const float lb = net.blob_by_name("lb")->cpu_data()[0];
  EXPECT_GT(la, 0.f);
  EXPECT_NEAR(la, lb, 1e-6);
  EXPECT_NEAR(loss, 2 * la + 0.5f * lb, 1e-5);
}

TEST(NetTest, ParameterSharingByName) {
  Net net(ParseNet(R"(
    layer { name: "in" type: "Input" top: "x" top: "label"
            input_param { shape { dim: 2 dim: 4 } shape { dim: 2 } } }
    layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "h1"
            param { name: "w" } param { name: "b" }
            inner_product_param { num_output: 4 weight_filler { type: "gaussian" } } }
    layer { name: "ip2" type: "InnerProduct" bottom: "h1" top: "h2"
            param { name: "w" } param { name: "b" }
            inner_product_param { num_output: 4 weight_filler { type: "gaussian" } } }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "h2" bottom: "label" top: "loss" }
  )"));
  EXPECT_EQ(net.params().size(), 4u);
  EXPECT_EQ(net.learnable_params().size(), 2u);
  EXPECT_EQ(net.param_owners()[2], 0);
  EXPECT_EQ(net.param_owners()[3], 1);
  const Layer* ip1 = net.layer_by_name("ip1");
  const Layer* ip2 = net.layer_by_name("ip2");
  EXPECT_EQ(ip1->blobs()[0]->cpu_data(), ip2->blobs()[0]->cpu_data());
  EXPECT_EQ(ip1->blobs()[0]->cpu_diff(), ip2->blobs()[0]->cpu_diff());
}

TEST(NetTest, SharingParametersOfDifferentShapesIsAnError) {
  try {
    Net net(ParseNet(R"(
      layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 4 } } }
      layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "h1"
              param { name: "w" } inner_product_param { num_output: 4 bias_term: false } }
      layer { name: "ip2" type: "InnerProduct" bottom: "h1" top: "h2"
              param { name: "w" } inner_product_param { num_output: 3 bias_term: false } }
    )"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'ip2'"), std::string::npos) << what;
    EXPECT_NE(what.find("'w'"), std::string::npos) << what;
  }
}

TEST(NetTest, BackwardNeedFollowsLearningRatesAndForceBackward) {
  const std::string body = R"(
    layer { name: "in" type: "Input" top: "x" top: "label"
            input_param { shape { dim: 2 dim: 4 } shape { dim: 2 } } }
    layer { name: "frozen" type: "InnerProduct" bottom: "x" top: "h1"
            param { lr_mult: 0 } param { lr_mult: 0 }
            inner_product_param { num_output: 4 } }
    layer { name: "ip" type: "InnerProduct" bottom: "h1" top: "h2"
            inner_product_param { num_output: 3 } }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "h2" bottom: "label" top: "loss" }
  )";
  Net net(ParseNet(body));
  EXPECT_FALSE(net.layer_need_backward()[1]);  // frozen, fed by data
  EXPECT_TRUE(net.layer_need_backward()[2]);
  EXPECT_FALSE(net.bottom_need_backward()[2][0]);  // h1 needs no gradient
  EXPECT_FALSE(net.bottom_need_backward()[3][1]);  // labels never do

  Net forced(ParseNet("force_backward: true\n" + body));
  EXPECT_TRUE(forced.layer_need_backward()[1]);
  EXPECT_TRUE(forced.bottom_need_backward()[1][0]);
  EXPECT_FALSE(forced.bottom_need_backward()[3][1]);  // labels refuse forcing
}

TEST(NetTest, LegacyInputFieldsBecomeAnInputLayer) {
  Net net(ParseNet(R"(
    input: "data" input_dim: 2 input_dim: 3 input_dim: 4 input_dim: 5
    layer { name: "relu" type: "ReLU" bottom: "data" top: "out" }
  )"));
  ASSERT_EQ(net.input_blobs().size(), 1u);
  EXPECT_EQ(net.input_blobs()[0]->shape(), (std::vector<int>{2, 3, 4, 5}));
  Net shaped(ParseNet(R"(
    input: "data" input_shape { dim: 7 dim: 3 }
    layer { name: "relu" type: "ReLU" bottom: "data" top: "out" }
  )"));
  EXPECT_EQ(shaped.input_blobs()[0]->shape(), (std::vector<int>{7, 3}));
}

TEST(NetTest, SaveAndReloadWeights) {
  testing::TempDir dir;
  Net net(ParseNet(kTwoLossNet));
  caffe::NetParameter saved;
  net.ToProto(&saved);
  WriteProtoToBinaryFile(saved, dir.File("w.caffemodel"));

  Net other(ParseNet(kTwoLossNet));
  const Blob* a = net.layer_by_name("ip")->blobs()[0].get();
  const Blob* b = other.layer_by_name("ip")->blobs()[0].get();
  ASSERT_NE(a->cpu_data()[0], b->cpu_data()[0]);  // different random fills
  other.CopyTrainedLayersFrom(dir.File("w.caffemodel"));
  for (int64_t i = 0; i < a->count(); ++i) EXPECT_EQ(a->cpu_data()[i], b->cpu_data()[i]);
}

TEST(NetTest, WeightsWithExtraLayersLoadAndWrongShapesFail) {
  caffe::NetParameter weights;
  Net net(ParseNet(kTwoLossNet));
  net.ToProto(&weights);
  caffe::LayerParameter* extra = weights.add_layer();
  extra->set_name("not_in_net");
  extra->add_blobs()->add_data(1.f);
  Net target(ParseNet(kTwoLossNet));
  EXPECT_NO_THROW(target.CopyTrainedLayersFrom(weights));

  caffe::NetParameter bad(weights);
  for (auto& layer : *bad.mutable_layer()) {
    if (layer.name() == "ip") layer.mutable_blobs(0)->mutable_shape()->set_dim(0, 7);
  }
  try {
    target.CopyTrainedLayersFrom(bad);
    FAIL() << "expected a shape error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'ip'"), std::string::npos) << what;
    EXPECT_NE(what.find("7 5"), std::string::npos) << what;
    EXPECT_NE(what.find("3 5"), std::string::npos) << what;
  }
}

TEST(NetTest, LoadsRealLenetWeightsAndPredictsADistribution) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const std::string dir = testing::ConformancePath("weights/lenet_mnist/");
  Net net(dir + "lenet.prototxt", caffe::TEST);
  net.CopyTrainedLayersFrom(dir + "lenet_iter_10000.caffemodel");
  Blob* data = net.input_blobs()[0];
  // A vertical bar: a "1"-like stroke in the middle of the image.
  float* x = data->mutable_cpu_data();
  std::fill_n(x, data->count(), 0.f);
  for (int n = 0; n < data->shape(0); ++n) {
    for (int h = 4; h < 24; ++h) {
      for (int w = 13; w < 16; ++w) x[data->offset(n, 0, h, w)] = 1.f;
    }
  }
  const BlobVec& out = net.Forward();
  ASSERT_EQ(out.size(), 1u);
  const float* prob = out[0]->cpu_data();
  double sum = 0;
  int best = 0;
  for (int k = 0; k < 10; ++k) {
    sum += prob[k];
    if (prob[k] > prob[best]) best = k;
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_EQ(best, 1) << "a vertical stroke should read as the digit 1";
}

TEST(NetTest, LayerHooksRunAroundEveryLayerStep) {
  Net net(ParseNet(kTwoLossNet));
  testing::FillGaussian(net.blob_by_name("x"), 0, 1, 7);
  testing::FillLabels(net.blob_by_name("label"), 3, 8);
  std::vector<std::string> events;
  auto record = [&](const char* what) {
    return [&events, what](int layer_id) { events.push_back(StrCat(what, layer_id)); };
  };
  net.add_layer_hook(Net::LayerHook::kBeforeForward, record("f"));
  net.add_layer_hook(Net::LayerHook::kAfterForward, record("F"));
  net.add_layer_hook(Net::LayerHook::kBeforeBackward, record("b"));
  net.add_layer_hook(Net::LayerHook::kAfterBackward, record("B"));
  net.ForwardBackward();
  // Layers: in, ip, ip_split (inserted), loss_a, loss_b. Backward visits
  // every layer, the input too, as Caffe's hooks do.
  const int n = static_cast<int>(net.layers().size());
  std::vector<std::string> expected;
  for (int i = 0; i < n; ++i) expected.insert(expected.end(), {StrCat("f", i), StrCat("F", i)});
  for (int i = n - 1; i >= 0; --i) {
    expected.insert(expected.end(), {StrCat("b", i), StrCat("B", i)});
  }
  EXPECT_EQ(events, expected);
  events.clear();
  net.ForwardFromTo(1, 2);
  EXPECT_EQ(events, (std::vector<std::string>{"f1", "F1", "f2", "F2"}));
}

}  // namespace
}  // namespace cortado
