// `cortado check` end to end: a net far too large to allocate is checked
// within a small fraction of its activation bytes, errors exit non-zero and
// name the layer, and weights that do not fit are listed.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "resnet_prototxt.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

struct ToolRun {
  int exit_code = -1;
  int64_t peak_rss_bytes = 0;  // the child's own peak, from wait4
  std::string out, err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ToolRun RunTool(const std::vector<std::string>& args) {
  testing::TempDir dir;
  const std::string out = dir.File("out"), err = dir.File("err");
  const pid_t pid = fork();
  if (pid == 0) {
    std::FILE* out_file = std::fopen(out.c_str(), "w");
    std::FILE* err_file = std::fopen(err.c_str(), "w");
    dup2(fileno(out_file), 1);
    dup2(fileno(err_file), 2);
    std::vector<char*> argv;
    std::string name = "cortado";
    argv.push_back(&name[0]);
    std::vector<std::string> copies = args;
    for (std::string& arg : copies) argv.push_back(&arg[0]);
    argv.push_back(nullptr);
    execv(CORTADO_TOOL_PATH, argv.data());
    _exit(127);
  }
  ToolRun run;
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.peak_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;
  run.out = ReadFile(out);
  run.err = ReadFile(err);
  return run;
}

int64_t JsonNumber(const std::string& json, const std::string& key) {
  std::smatch match;
  if (!std::regex_search(json, match, std::regex("\"" + key + "\":([0-9]+)"))) return -1;
  return std::stoll(match[1]);
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(CheckCommandTest, ResNet152AtBatch256IsCheckedWithoutAllocatingIt) {
  testing::TempDir dir;
  const std::string model = dir.File("resnet152.prototxt");
  WriteText(model, testing::ResNetPrototxt("ResNet-152", {3, 8, 36, 3}, 1));
  const ToolRun run = RunTool({"check", "--json", "--batch=256", "--model=" + model});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const int64_t unplanned = JsonNumber(run.out, "inference_unplanned_bytes");
  const int64_t planned = JsonNumber(run.out, "inference_planned_bytes");
  const int64_t params = JsonNumber(run.out, "param_count");
  const int64_t macs = JsonNumber(run.out, "total_macs");
  // 256 images of 224x224: tens of GB of activations, 60 M parameters
  // (plus BatchNorm's statistics), 11.3 G multiply-accumulates per image.
  EXPECT_GT(unplanned, int64_t{20} << 30);
  EXPECT_GT(planned, 0);
  EXPECT_LT(planned, unplanned / 4);
  EXPECT_NEAR(params / 1e6, 60.3, 0.5);
  EXPECT_NEAR(macs / 256 / 1e9, 11.3, 0.3);
  EXPECT_NE(run.out.find("\"top_shapes\":[[256,1000]]"), std::string::npos);
  // The process holds the parameters (240 MB) and its libraries, never the
  // activations.
  EXPECT_LT(run.peak_rss_bytes, unplanned / 20)
      << "peak RSS " << run.peak_rss_bytes << " bytes for " << unplanned << " activation bytes";
}

TEST(CheckCommandTest, PrintsATableWithTotals) {
  testing::TempDir dir;
  const std::string model = dir.File("resnet50.prototxt");
  WriteText(model, testing::ResNetPrototxt("ResNet-50", {3, 4, 6, 3}, 1));
  const ToolRun run = RunTool({"check", "--model=" + model});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("fc1000"), std::string::npos);
  EXPECT_NE(run.out.find("inference blobs, planned"), std::string::npos);
  EXPECT_NE(run.out.find("training blobs, unplanned"), std::string::npos);
  EXPECT_NE(run.out.find("training blobs, planned"), std::string::npos) << run.out;
}

TEST(CheckCommandTest, TrainValNetsAreCheckedWithoutTheirData) {
  // LeNet's LMDBs need not exist: the data layers become Input layers.
  const std::string model = std::string(CORTADO_SOURCE_DIR) + "/models/lenet/train_val.prototxt";
  const ToolRun run = RunTool({"check", "--json", "--phase=TRAIN", "--batch=32",
                               "--stub_shape=data:1,28,28", "--model=" + model});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("\"phase\":\"TRAIN\""), std::string::npos);
  EXPECT_NE(run.out.find("[32,1,28,28]"), std::string::npos) << run.out;
}

struct BadNet {
  std::string name;
  std::string text;
  std::string message;  // what the error must mention
};

TEST(CheckCommandTest, ErrorsTrainWouldHitExitNonZero) {
  const std::string input =
      "layer { name: \"data\" type: \"Input\" top: \"data\" "
      "input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } } }\n";
  const std::vector<BadNet> cases = {
      {"unknown type", input + "layer { name: \"odd\" type: \"NoSuchLayer\" bottom: \"data\" "
                               "top: \"odd\" }",
       "NoSuchLayer"},
      {"missing bottom", input + "layer { name: \"relu\" type: \"ReLU\" bottom: \"nothing\" "
                                 "top: \"relu\" }",
       "nothing"},
      {"shape mismatch", input + "layer { name: \"a\" type: \"InnerProduct\" bottom: \"data\" "
                                 "top: \"a\" inner_product_param { num_output: 5 } }\n"
                                 "layer { name: \"sum\" type: \"Eltwise\" bottom: \"data\" "
                                 "bottom: \"a\" top: \"sum\" }",
       "sum"},
  };
  for (const BadNet& c : cases) {
    SCOPED_TRACE(c.name);
    testing::TempDir dir;
    const std::string model = dir.File("bad.prototxt");
    WriteText(model, c.text);
    const ToolRun run = RunTool({"check", "--model=" + model});
    EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
    EXPECT_NE(run.err.find("cortado: error:"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find(c.message), std::string::npos) << run.err;
  }
}

TEST(CheckCommandTest, WeightsThatDoNotFitAreListed) {
  testing::TempDir dir;
  const std::string deploy = std::string(CORTADO_SOURCE_DIR) + "/models/lenet/deploy.prototxt";
  // Weights of a LeNet with a 12-way classifier and an extra layer.
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(deploy, &param);
  for (caffe::LayerParameter& layer : *param.mutable_layer()) {
    if (layer.name() == "ip2") layer.mutable_inner_product_param()->set_num_output(12);
  }
  caffe::LayerParameter* extra = param.add_layer();
  extra->set_name("extra_fc");
  extra->set_type("InnerProduct");
  extra->add_bottom("ip2");
  extra->add_top("extra_fc");
  extra->mutable_inner_product_param()->set_num_output(2);
  Net other(param);
  caffe::NetParameter weights;
  other.ToProto(&weights);
  const std::string caffemodel = dir.File("other.caffemodel");
  WriteProtoToBinaryFile(weights, caffemodel);

  const ToolRun bad = RunTool({"check", "--model=" + deploy, "--weights=" + caffemodel});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("layer 'ip2' (InnerProduct) parameter 0"), std::string::npos) << bad.err;
  EXPECT_NE(bad.out.find("skipped (not in the net): extra_fc"), std::string::npos) << bad.out;

  // The net's own weights fit.
  Net same(deploy, caffe::TEST);
  caffe::NetParameter own;
  same.ToProto(&own);
  const std::string own_model = dir.File("own.caffemodel");
  WriteProtoToBinaryFile(own, own_model);
  const ToolRun good = RunTool({"check", "--json", "--model=" + deploy, "--weights=" + own_model});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(JsonNumber(good.out, "matched"), 4);
}

TEST(CheckCommandTest, DeployWritesFilesThatCheckCleanly) {
  testing::TempDir dir;
  const std::string root = CORTADO_SOURCE_DIR;
  const std::string out_model = dir.File("deploy.prototxt");
  const std::string out_weights = dir.File("deploy.caffemodel");
  const ToolRun run = RunTool({"deploy", "--model=" + root + "/models/lenet/train_val.prototxt",
                               "--weights=" + root + "/models/lenet/lenet_fashion_mnist.caffemodel",
                               "--stub_shape=data:1,28,28", "--batch=8",
                               "--out_model=" + out_model, "--out_weights=" + out_weights});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("Saved"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("forward pass"), std::string::npos) << run.out;
  const ToolRun check = RunTool({"check", "--model=" + out_model, "--weights=" + out_weights});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out.find("skipped"), std::string::npos) << check.out;
}

}  // namespace
}  // namespace cortado
