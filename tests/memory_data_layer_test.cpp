// MemoryData: batches come from arrays handed over with Reset.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cortado/memory_data_layer.hpp"
#include "cortado/net.hpp"
#include "cortado/io.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace {

const char kNet[] = R"(
  layer { name: "data" type: "MemoryData" top: "data" top: "label"
          memory_data_param { batch_size: 2 channels: 1 height: 2 width: 3 } }
  layer { name: "relu" type: "ReLU" bottom: "data" top: "data" }
  layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
          inner_product_param { num_output: 2 weight_filler { type: "gaussian" } } }
  layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
)";

Net MakeNet() {
  caffe::NetParameter param;
  ReadProtoFromTextString(kNet, "memory net", &param);
  param.mutable_state()->set_phase(caffe::TRAIN);
  return Net(param);
}

TEST(MemoryDataLayerTest, ServesResetArraysInBatchesAndWraps) {
  Net net = MakeNet();
  auto* layer = dynamic_cast<MemoryDataLayer*>(net.layer_by_name("data"));
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(layer->batch_size(), 2);
  EXPECT_EQ(net.blob_by_name("data")->shape(), (std::vector<int>{2, 1, 2, 3}));
  std::vector<float> data(4 * 6);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i) - 5;  // some < 0
  std::vector<float> labels = {0, 1, 1, 0};
  layer->Reset(data.data(), labels.data(), 4);
  for (int step = 0; step < 3; ++step) {
    float loss = 0;
    net.Forward(&loss);
    EXPECT_TRUE(std::isfinite(loss));
    const int first = (step % 2) * 2;  // the third batch wraps to the start
    const Blob* top = net.blob_by_name("label");
    EXPECT_EQ(top->cpu_data()[0], labels[first]);
    EXPECT_EQ(top->cpu_data()[1], labels[first + 1]);
    // ReLU ran in place on the top: the caller's array must be untouched.
    EXPECT_EQ(net.blob_by_name("data")->cpu_data()[0], std::max(0.f, data[first * 6]));
  }
  EXPECT_EQ(data[0], -5.f);
  net.Backward();  // a MemoryData-fed net trains like any other
  EXPECT_EQ(layer->records_consumed(), 6);
}

TEST(MemoryDataLayerTest, MisuseThrows) {
  Net net = MakeNet();
  auto* layer = dynamic_cast<MemoryDataLayer*>(net.layer_by_name("data"));
  ASSERT_NE(layer, nullptr);
  EXPECT_THROW(net.Forward(), Error);  // no Reset yet
  std::vector<float> data(3 * 6), labels(3);
  EXPECT_THROW(layer->Reset(data.data(), labels.data(), 3), Error);  // not a multiple of 2
  EXPECT_THROW(layer->Reset(nullptr, labels.data(), 2), Error);
  layer->set_batch_size(3);
  EXPECT_NO_THROW(layer->Reset(data.data(), labels.data(), 3));
  net.Reshape();
  EXPECT_EQ(net.blob_by_name("data")->shape(0), 3);
  EXPECT_THROW(layer->set_batch_size(2), Error);  // 2 does not divide 3
  Blob a, b;
  auto unshaped = testing::MakeLayer("name: 'm' type: 'MemoryData' memory_data_param { batch_size: 1 }");
  EXPECT_THROW(unshaped->SetUp({}, {&a, &b}), Error);  // no channels/height/width
}

}  // namespace
}  // namespace cortado
