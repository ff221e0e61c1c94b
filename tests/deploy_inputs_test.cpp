// The three ways a deploy net declares its inputs (input + input_dim,
// input + input_shape, an Input layer) all build nets that run with no data
// source.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "conformance_dir.hpp"

namespace cortado {
namespace {

const char kBody[] = R"(
  layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" }
  layer { name: "ip" type: "InnerProduct" bottom: "sum" top: "ip"
          inner_product_param { num_output: 3 weight_filler { type: "gaussian" } } }
)";

caffe::NetParameter Parse(const std::string& head) {
  caffe::NetParameter param;
  ReadProtoFromTextString(head + kBody, "deploy", &param);
  return param;
}

void ExpectRuns(const caffe::NetParameter& param) {
  Net net(param);
  ASSERT_EQ(net.input_blobs().size(), 2u);
  EXPECT_EQ(net.input_blobs()[0]->shape(), (std::vector<int>{2, 3, 4, 5}));
  EXPECT_EQ(net.input_blobs()[1]->shape(), (std::vector<int>{2, 3, 4, 5}));
  for (Blob* input : net.input_blobs()) {
    for (int64_t i = 0; i < input->count(); ++i) input->mutable_cpu_data()[i] = 1;
  }
  const BlobVec& outputs = net.Forward();
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0]->shape(), (std::vector<int>{2, 3}));
}

TEST(DeployInputsTest, InputWithInputDim) {
  ExpectRuns(Parse(R"(input: "a" input_dim: 2 input_dim: 3 input_dim: 4 input_dim: 5
                      input: "b" input_dim: 2 input_dim: 3 input_dim: 4 input_dim: 5)"));
}

TEST(DeployInputsTest, InputWithInputShape) {
  ExpectRuns(Parse(R"(input: "a" input_shape { dim: 2 dim: 3 dim: 4 dim: 5 }
                      input: "b" input_shape { dim: 2 dim: 3 dim: 4 dim: 5 })"));
}

TEST(DeployInputsTest, InputLayer) {
  ExpectRuns(Parse(R"(layer { name: "in" type: "Input" top: "a" top: "b"
                              input_param { shape { dim: 2 dim: 3 dim: 4 dim: 5 } } })"));
}

TEST(DeployInputsTest, MalformedInputFieldsThrow) {
  EXPECT_THROW(Net(Parse(R"(input: "a" input_dim: 2 input_dim: 3 input: "b")")), Error);
  EXPECT_THROW(Net(Parse(R"(input: "a" input: "b" input_shape { dim: 1 } input_shape { dim: 1 }
                           input_shape { dim: 1 })")),
               Error);
  EXPECT_THROW(Net(Parse(R"(input: "a" input_dim: 1 input_dim: 1 input_dim: 1 input_dim: 1
                           input_shape { dim: 1 } input: "b")")),
               Error);
}

// A real deploy net in the input_dim style (MTCNN's P-Net, with PReLU).
TEST(DeployInputsTest, RealInputDimDeployNetRuns) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const std::string path =
      testing::ConformancePath("weights/mtcnn_pnet/det1.prototxt");
  Net net(path, caffe::TEST);
  ASSERT_EQ(net.input_blobs().size(), 1u);
  EXPECT_EQ(net.input_blobs()[0]->shape(), (std::vector<int>{1, 3, 12, 12}));
  net.Forward();
  // A fully convolutional net: a 12x12 input gives one 1x1 proposal.
  const Blob* prob = net.blob_by_name("prob1");
  ASSERT_NE(prob, nullptr);
  EXPECT_EQ(prob->shape(), (std::vector<int>{1, 2, 1, 1}));
  EXPECT_NEAR(prob->cpu_data()[0] + prob->cpu_data()[1], 1.f, 1e-5f);
}

}  // namespace
}  // namespace cortado
