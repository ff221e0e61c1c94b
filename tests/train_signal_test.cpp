// `cortado train` under SIGINT and SIGHUP: stop (with a final snapshot that
// a second run resumes from), snapshot and carry on, or ignore the signal.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

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

// Starts `cortado train <flags>` with stdout and stderr going to log.
pid_t StartTrain(const std::vector<std::string>& flags, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv = {const_cast<char*>("cortado"), const_cast<char*>("train")};
    for (const std::string& f : flags) argv.push_back(const_cast<char*>(f.c_str()));
    argv.push_back(nullptr);
    execv(CORTADO_TOOL_PATH, argv.data());
    _exit(127);
  }
  return pid;
}

// Polls the log until it contains text (true) or 60 s pass (false).
bool WaitForLog(const std::string& log, const std::string& text, size_t occurrences = 1) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string content = ReadFile(log);
    size_t found = 0;
    for (size_t at = content.find(text); at != std::string::npos; at = content.find(text, at + 1)) {
      ++found;
    }
    if (found >= occurrences) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int WaitForExit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A solver over a tiny LMDB that would train practically forever.
std::string WriteEndlessSolver(const TempDir& dir, const std::string& name, int max_iter) {
  const std::string source = dir.File("lmdb");
  if (!FileExists(source)) MakeDataset(source);
  caffe::SolverParameter param = LmdbSolver(source, dir.File("run"));
  param.set_max_iter(max_iter);
  param.set_display(100000);
  param.set_snapshot_after_train(true);
  const std::string path = dir.File(name);
  WriteProtoToTextFile(param, path);
  return path;
}

// The iteration of the newest <prefix>_iter_N.solverstate in dir, or -1.
int NewestSnapshot(const TempDir& dir) {
  int newest = -1;
  const std::regex pattern("run_iter_(\\d+)\\.solverstate");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, pattern)) newest = std::max(newest, std::stoi(match[1]));
  }
  return newest;
}

TEST(TrainSignalTest, SigintStopsWithASnapshotThatResumes) {
  TempDir dir;
  const std::string solver = WriteEndlessSolver(dir, "solver.prototxt", 1000000000);
  const std::string log = dir.File("train.log");
  const pid_t pid = StartTrain({"--solver=" + solver}, log);
  ASSERT_TRUE(WaitForLog(log, "Starting Optimization")) << ReadFile(log);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGINT);
  ASSERT_EQ(WaitForExit(pid), 0) << ReadFile(log);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("SIGINT received"), std::string::npos) << text;
  EXPECT_NE(text.find("Optimization stopped early."), std::string::npos) << text;
  const int stopped_at = NewestSnapshot(dir);
  ASSERT_GT(stopped_at, 0) << text;
  EXPECT_FALSE(FileExists(dir.File("run_iter_" + std::to_string(stopped_at) + ".solverstate.tmp")));

  // Resume from what the stopped run left and train five more iterations.
  const std::string more = WriteEndlessSolver(dir, "more.prototxt", stopped_at + 5);
  const std::string state = dir.File("run_iter_" + std::to_string(stopped_at) + ".solverstate");
  const std::string log2 = dir.File("resume.log");
  ASSERT_EQ(WaitForExit(StartTrain({"--solver=" + more, "--snapshot=" + state}, log2)), 0)
      << ReadFile(log2);
  EXPECT_NE(ReadFile(log2).find("Restoring previous solver status from " + state),
            std::string::npos);
  EXPECT_EQ(NewestSnapshot(dir), stopped_at + 5);
}

TEST(TrainSignalTest, SighupSnapshotsAndIgnoredSigintDoesNotStop) {
  TempDir dir;
  const std::string solver = WriteEndlessSolver(dir, "solver.prototxt", 1000000000);
  const std::string log = dir.File("train.log");
  const pid_t pid = StartTrain(
      {"--solver=" + solver, "--sigint_effect=none", "--sighup_effect=snapshot"}, log);
  ASSERT_TRUE(WaitForLog(log, "Starting Optimization")) << ReadFile(log);
  kill(pid, SIGINT);
  ASSERT_TRUE(WaitForLog(log, "SIGINT received")) << ReadFile(log);
  kill(pid, SIGHUP);
  ASSERT_TRUE(WaitForLog(log, "Snapshotting solver state")) << ReadFile(log);
  // Both signals were handled and training goes on.
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << ReadFile(log);
  EXPECT_GT(NewestSnapshot(dir), 0);
  kill(pid, SIGTERM);
  WaitForExit(pid);
}

TEST(TrainSignalTest, UnknownEffectIsAnError) {
  TempDir dir;
  const std::string solver = WriteEndlessSolver(dir, "solver.prototxt", 10);
  const std::string log = dir.File("train.log");
  EXPECT_EQ(WaitForExit(StartTrain({"--solver=" + solver, "--sigint_effect=explode"}, log)), 1);
  EXPECT_NE(ReadFile(log).find("--sigint_effect=explode is not one of: stop, snapshot, none"),
            std::string::npos)
      << ReadFile(log);
}

}  // namespace
}  // namespace cortado
