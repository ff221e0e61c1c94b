// `cortado train` and `cortado test` flag combinations: --weights with
// --snapshot, --stage/--level, fine-tuning with renamed layers, and
// `test --iterations`.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "solver_fixtures.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using namespace cortado::testing;  // NOLINT: the shared solver fixtures

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int RunCortado(const std::string& args, const std::string& log) {
  const std::string command = std::string(CORTADO_TOOL_PATH) + " " + args + " > " + log + " 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The tiny LMDB net as a prototxt, plus a layer that only exists in stage
// "extra" at level 2 or more: a second loss whose output shows in the log.
const char kStagedLayer[] = R"(
  layer { name: "extra_loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label"
          top: "extra_loss" include { stage: "extra" min_level: 2 } })";

class TrainFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeDataset(dir_.File("lmdb")); }

  // Writes net and solver files; returns the solver path.
  std::string WriteSolver(const std::string& name, const std::string& extra_layers = "",
                          const std::string& rename_ip2 = "") {
    caffe::SolverParameter param = LmdbSolver(dir_.File("lmdb"), dir_.File(name));
    param.set_max_iter(4);
    param.set_display(1);
    param.set_snapshot_after_train(true);
    std::string net_text;
    caffe::NetParameter net = param.net_param();
    if (!rename_ip2.empty()) {
      for (auto& layer : *net.mutable_layer()) {
        if (layer.name() == "ip2") layer.set_name(rename_ip2);
      }
    }
    caffe::NetParameter extra;
    ReadProtoFromTextString(extra_layers, "extra", &extra);
    net.MergeFrom(extra);
    const std::string net_path = dir_.File(name + "_net.prototxt");
    WriteProtoToTextFile(net, net_path);
    param.clear_net_param();
    param.set_net(net_path);
    const std::string path = dir_.File(name + "_solver.prototxt");
    WriteProtoToTextFile(param, path);
    return path;
  }

  TempDir dir_;
};

TEST_F(TrainFlagsTest, WeightsWithSnapshotIsAnError) {
  const std::string solver = WriteSolver("a");
  const std::string log = dir_.File("log");
  EXPECT_EQ(RunCortado("train --solver=" + solver + " --weights=x.caffemodel --snapshot=x.solverstate",
                       log),
            1);
  EXPECT_NE(ReadFile(log).find("give --snapshot or --weights, not both"), std::string::npos)
      << ReadFile(log);
  EXPECT_EQ(RunCortado("train", log), 1);
  EXPECT_NE(ReadFile(log).find("train needs --solver"), std::string::npos) << ReadFile(log);
}

TEST_F(TrainFlagsTest, StageAndLevelSelectLayers) {
  const std::string solver = WriteSolver("staged", kStagedLayer);
  const std::string log = dir_.File("log");
  ASSERT_EQ(RunCortado("train --solver=" + solver, log), 0) << ReadFile(log);
  EXPECT_EQ(ReadFile(log).find("extra_loss = "), std::string::npos);
  ASSERT_EQ(RunCortado("train --solver=" + solver + " --stage=extra --level=1", log), 0);
  EXPECT_EQ(ReadFile(log).find("extra_loss = "), std::string::npos);  // level too low
  ASSERT_EQ(RunCortado("train --solver=" + solver + " --stage=other,extra --level=2", log), 0)
      << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("Train net output #0: extra_loss = "), std::string::npos)
      << ReadFile(log);

  // `test` takes the same flags for its net.
  const std::string net = dir_.File("staged_net.prototxt");
  ASSERT_EQ(RunCortado("test --model=" + net + " --stage=extra --level=2 --iterations=1 "
                       "--weights=" + dir_.File("staged_iter_4.caffemodel"), log),
            0)
      << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("extra_loss = "), std::string::npos) << ReadFile(log);
}

TEST_F(TrainFlagsTest, FineTuningReportsUnmatchedLayers) {
  const std::string base = WriteSolver("base");
  const std::string log = dir_.File("log");
  ASSERT_EQ(RunCortado("train --solver=" + base, log), 0) << ReadFile(log);
  const std::string weights = dir_.File("base_iter_4.caffemodel");
  ASSERT_TRUE(FileExists(weights));
  const std::string tuned = WriteSolver("tuned", "", "ip2_new");
  ASSERT_EQ(RunCortado("train --solver=" + tuned + " --weights=" + weights, log), 0)
      << ReadFile(log);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("Finetuning from " + weights), std::string::npos) << text;
  EXPECT_NE(text.find("Layers of this net not in the weights (keeping their initial values): "
                      "ip2_new"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Layers in the weights but not in this net (ignored): ip2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Copied weights of 1 layers"), std::string::npos) << text;
  // Weights in HDF5 are read the same way.
  EXPECT_EQ(RunCortado("train --solver=" + tuned + " --weights=" + dir_.File("nope.h5"), log), 1);
  EXPECT_NE(ReadFile(log).find("nope.h5"), std::string::npos) << ReadFile(log);
}

TEST_F(TrainFlagsTest, TestRunsTheRequestedIterations) {
  const std::string solver = WriteSolver("t");
  const std::string log = dir_.File("log");
  ASSERT_EQ(RunCortado("train --solver=" + solver, log), 0) << ReadFile(log);
  ASSERT_EQ(RunCortado("test --model=" + dir_.File("t_net.prototxt") + " --weights=" +
                       dir_.File("t_iter_4.caffemodel") + " --iterations=3", log),
            0)
      << ReadFile(log);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("Running for 3 iterations."), std::string::npos) << text;
  EXPECT_NE(text.find("Batch 2, loss = "), std::string::npos) << text;
  EXPECT_EQ(text.find("Batch 3, loss = "), std::string::npos) << text;
  EXPECT_EQ(RunCortado("test --model=" + dir_.File("t_net.prototxt") + " --iterations=0", log), 1);
  EXPECT_NE(ReadFile(log).find("--iterations"), std::string::npos) << ReadFile(log);
}

}  // namespace
}  // namespace cortado
