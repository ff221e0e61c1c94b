// End to end through the CLI: a short LeNet run on the real Fashion-MNIST
// LMDBs (made by ./scripts/setup.sh) learns, snapshots, resumes and tests.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "cortado/device.hpp"
#include "cortado/io.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

const std::string kRoot = CORTADO_SOURCE_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The Caffe LeNet recipe, shortened: max_iter, test_iter, test_interval and
// snapshot set, snapshots written under `prefix`.
std::string LenetSolver(int max_iter, int test_iter, int test_interval, int snapshot,
                        const std::string& prefix) {
  std::string solver = ReadFile(kRoot + "/models/lenet/lenet_solver.prototxt");
  const auto set = [&](const std::string& field, const std::string& value) {
    solver = std::regex_replace(solver, std::regex(field + ": .*"), field + ": " + value);
  };
  set("max_iter", std::to_string(max_iter));
  set("test_iter", std::to_string(test_iter));
  set("test_interval", std::to_string(test_interval));
  set("snapshot", std::to_string(snapshot));
  set("snapshot_prefix", "\"" + prefix + "\"");
  return solver;
}

int RunTool(const std::string& args, const std::string& log) {
  const std::string command =
      "cd " + kRoot + " && " + CORTADO_TOOL_PATH + " " + args + " > " + log + " 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double LastAccuracy(const std::string& log_text, const std::string& pattern) {
  std::regex re(pattern + " = ([0-9.]+)");
  double value = -1;
  for (std::sregex_iterator it(log_text.begin(), log_text.end(), re), end; it != end; ++it) {
    value = std::stod((*it)[1]);
  }
  return value;
}

TEST(LenetTrainingTest, ShortRunLearnsSnapshotsResumesAndTests) {
  ASSERT_TRUE(FileExists(kRoot + "/data/fashion_mnist/fashion_mnist_train_lmdb"))
      << "Fashion-MNIST LMDBs missing: run ./scripts/setup.sh --no-train "
         "(or data/get_fashion_mnist.sh) first";
  testing::TempDir dir;
  std::string solver = LenetSolver(400, 20, 200, 200, dir.File("lenet"));
  const std::string solver_path = dir.File("solver.prototxt");
  std::ofstream(solver_path) << solver;

  const std::string log = dir.File("train.log");
  ASSERT_EQ(RunTool("train --solver=" + solver_path, log), 0) << ReadFile(log);
  const std::string text = ReadFile(log);
  const double accuracy = LastAccuracy(text, "Test net output #0: accuracy");
  EXPECT_GT(accuracy, 0.70) << text;
  EXPECT_NE(text.find("Iteration 100 ("), std::string::npos);
  EXPECT_TRUE(FileExists(dir.File("lenet_iter_200.caffemodel")));
  EXPECT_TRUE(FileExists(dir.File("lenet_iter_400.solverstate")));

  // Resume from the middle and finish the run.
  const std::string resume_log = dir.File("resume.log");
  ASSERT_EQ(RunTool("train --solver=" + solver_path + " --snapshot=" +
                    dir.File("lenet_iter_200.solverstate"), resume_log), 0)
      << ReadFile(resume_log);
  EXPECT_GT(LastAccuracy(ReadFile(resume_log), "Test net output #0: accuracy"), 0.70);

  // Score the final weights with `cortado test`.
  const std::string test_log = dir.File("test.log");
  ASSERT_EQ(RunTool("test --model=models/lenet/lenet_train_test.prototxt --weights=" +
                    dir.File("lenet_iter_400.caffemodel") + " --iterations=20", test_log), 0)
      << ReadFile(test_log);
  EXPECT_GT(LastAccuracy(ReadFile(test_log), "\\] accuracy"), 0.70) << ReadFile(test_log);
}

// 200 iterations with blob memory planned (the tool's default) and not:
// every weight of the final caffemodel is the same bit for bit.
TEST(LenetTrainingTest, PlannedMemoryTrainsBitIdentically) {
  ASSERT_TRUE(FileExists(kRoot + "/data/fashion_mnist/fashion_mnist_train_lmdb"))
      << "Fashion-MNIST LMDBs missing: run ./scripts/setup.sh --no-train first";
  testing::TempDir dir;
  std::string models[2];
  for (int planned = 0; planned < 2; ++planned) {
    const std::string prefix = dir.File(planned ? "planned" : "plain");
    std::string solver = LenetSolver(200, 5, 100, 200, prefix);
    solver += "\nrandom_seed: 1701\n";
    const std::string solver_path = prefix + "_solver.prototxt";
    std::ofstream(solver_path) << solver;
    const std::string log = prefix + ".log";
    ASSERT_EQ(RunTool("train --solver=" + solver_path +
                      (planned ? " --plan_memory=true" : " --plan_memory=false"), log), 0)
        << ReadFile(log);
    EXPECT_EQ(ReadFile(log).find("blob memory planned") != std::string::npos, planned == 1)
        << ReadFile(log);
    models[planned] = ReadFile(prefix + "_iter_200.caffemodel");
    ASSERT_GT(models[planned].size(), 1000u);
  }
  EXPECT_TRUE(models[0] == models[1]) << "planned and unplanned runs trained different weights";
}

// Trains the same short run on the CPU and on GPU 0 (same seed and data
// order) and expects the same accuracy, give or take what float rounding in
// a different summation order makes of 400 iterations.
TEST(LenetTrainingTest, GpuRunReachesCpuAccuracy) {
  if (CudaDeviceCount() == 0) {
    GTEST_SKIP() << "skipped: no GPU (" << CudaUnavailableReason() << ")";
  }
  ASSERT_TRUE(FileExists(kRoot + "/data/fashion_mnist/fashion_mnist_train_lmdb"));
  testing::TempDir dir;
  std::string solver = LenetSolver(400, 50, 400, 0, dir.File("lenet"));
  solver += "\nrandom_seed: 1701\n";
  const std::string solver_path = dir.File("solver.prototxt");
  std::ofstream(solver_path) << solver;
  const std::string cpu_log = dir.File("cpu.log"), gpu_log = dir.File("gpu.log");
  ASSERT_EQ(RunTool("train --solver=" + solver_path, cpu_log), 0) << ReadFile(cpu_log);
  ASSERT_EQ(RunTool("train --solver=" + solver_path + " --gpu=0", gpu_log), 0)
      << ReadFile(gpu_log);
  EXPECT_NE(ReadFile(gpu_log).find("ready on GPU 0"), std::string::npos) << ReadFile(gpu_log);
  const double cpu = LastAccuracy(ReadFile(cpu_log), "Test net output #0: accuracy");
  const double gpu = LastAccuracy(ReadFile(gpu_log), "Test net output #0: accuracy");
  EXPECT_GT(cpu, 0.70);
  EXPECT_GT(gpu, 0.70) << ReadFile(gpu_log);
  EXPECT_NEAR(gpu, cpu, 0.02);
}

TEST(LenetTrainingTest, TimeAndLayersCommandsWork) {
  testing::TempDir dir;
  const std::string log = dir.File("time.log");
  ASSERT_EQ(RunTool("time --model=models/lenet/lenet.prototxt --iterations=2", log), 0)
      << ReadFile(log);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("conv2"), std::string::npos);
  EXPECT_NE(text.find("Average Forward-Backward"), std::string::npos);
  // Whole passes: a median and a minimum per row, and the minimum is no more
  // than the median.
  for (const char* row : {"\n  forward ", "\n  forward+backward "}) {
    const size_t at = text.find(row);
    ASSERT_NE(at, std::string::npos) << row << "\n" << text;
    double median = -1, minimum = -1;
    std::istringstream(text.substr(at + std::string(row).size())) >> median >> minimum;
    EXPECT_GT(median, 0) << row;
    EXPECT_GT(minimum, 0) << row;
    EXPECT_LE(minimum, median) << row;
  }
  ASSERT_EQ(RunTool("time --model=models/lenet/lenet.prototxt --iterations=1 --threads=1", log),
            0);
  EXPECT_NE(ReadFile(log).find("on 1 CPU thread(s)"), std::string::npos) << ReadFile(log);
  EXPECT_NE(RunTool("time --model=models/lenet/lenet.prototxt --threads=-2", log), 0);
  EXPECT_NE(ReadFile(log).find("--threads=-2"), std::string::npos) << ReadFile(log);
  ASSERT_EQ(RunTool("layers", log), 0);
  const std::string layers = ReadFile(log);
  for (const char* type : {"Convolution", "Data", "Pooling", "SoftmaxWithLoss"}) {
    EXPECT_NE(layers.find(type), std::string::npos) << type;
  }
}

}  // namespace
}  // namespace cortado
