// Training progress: the terminal status line, and what `cortado train`
// prints to a terminal versus to a log file.
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/progress.hpp"
#include "solver_fixtures.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using namespace cortado::testing;  // NOLINT: the shared solver fixtures

std::string ReadAll(std::FILE* file) {
  std::rewind(file);
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  return text;
}

TEST(ProgressTest, FormatsIterationLossRateSpeedAndEta) {
  TrainingProgress p;
  p.iter = 1200;
  p.max_iter = 10000;
  p.loss = 0.3412f;
  p.lr = 0.00912f;
  EXPECT_EQ(FormatProgress(p), "Iteration 1200/10000  loss 0.3412  lr 0.00912");
  p.iters_per_second = 150;  // 8800 left: 58.7 s
  EXPECT_EQ(FormatProgress(p), "Iteration 1200/10000  loss 0.3412  lr 0.00912  150.0 it/s  ETA 0:59");
  EXPECT_EQ(FormatDuration(3725), "1:02:05");
  EXPECT_EQ(FormatDuration(61), "1:01");
  EXPECT_EQ(FormatDuration(-3), "0:00");
}

TEST(ProgressTest, LineIsRewrittenInPlaceAndBrokenOnce) {
  std::FILE* file = std::tmpfile();
  {
    ProgressLine line(file);
    line.Show("a long first status");
    line.Show("short");
    line.Break();
    line.Break();  // already on a fresh line: nothing more
    line.Show("again");
  }  // the destructor ends the open line
  EXPECT_EQ(ReadAll(file), "\ra long first status\033[K\rshort\033[K\n\ragain\033[K\n");
  std::fclose(file);
}

TEST(ProgressTest, SolverShowsTheFinalIteration) {
  std::FILE* file = std::tmpfile();
  ProgressLine line(file);
  caffe::SolverParameter param = TinySolver("base_lr: 0.1 lr_policy: \"fixed\" max_iter: 7");
  auto solver = CreateSolver(param);
  SetInputs(solver->net());
  solver->set_progress_line(&line, /*keep_log_lines=*/false);
  solver->Step(7);
  line.Break();
  const std::string text = ReadAll(file);
  EXPECT_NE(text.find("\rIteration 7/7  loss "), std::string::npos) << text;
  EXPECT_NE(text.find("lr 0.1"), std::string::npos) << text;
  std::fclose(file);
}

// Runs `cortado train` with stdout and stderr on a pseudo-terminal when
// terminal is true, else into a file; returns everything it printed.
std::string RunTrain(const std::string& solver, bool terminal, int* exit_code) {
  const std::string args = "--solver=" + solver;
  pid_t pid;
  int master = -1;
  TempDir out_dir;
  const std::string out_file = out_dir.File("out.log");
  if (terminal) {
    pid = forkpty(&master, nullptr, nullptr, nullptr);
  } else {
    pid = fork();
  }
  if (pid == 0) {
    if (!terminal) {
      std::FILE* out = std::fopen(out_file.c_str(), "w");
      dup2(fileno(out), 1);
      dup2(fileno(out), 2);
    }
    execl(CORTADO_TOOL_PATH, "cortado", "train", args.c_str(), nullptr);
    _exit(127);
  }
  std::string text;
  if (terminal) {
    char buffer[4096];
    ssize_t n;
    // Reading fails with EIO once the child has exited and closed the pty.
    while ((n = read(master, buffer, sizeof(buffer))) > 0) text.append(buffer, n);
    close(master);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (!terminal) {
    std::ifstream in(out_file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return text;
}

std::string WriteSolver(const TempDir& dir, int max_iter, const std::string& extra = "") {
  MakeDataset(dir.File("lmdb"));
  caffe::SolverParameter param = LmdbSolver(dir.File("lmdb"), dir.File("run"));
  param.set_max_iter(max_iter);
  param.set_display(100);
  caffe::SolverParameter overrides;
  ReadProtoFromTextString(extra, "extra", &overrides);
  param.MergeFrom(overrides);
  const std::string path = dir.File("solver.prototxt");
  WriteProtoToTextFile(param, path);
  return path;
}

TEST(ProgressTest, TerminalGetsOneLiveLineAndFilesGetCaffeLines) {
  TempDir dir;
  const std::string solver = WriteSolver(dir, 300);
  int code = -1;
  const std::string live = RunTrain(solver, /*terminal=*/true, &code);
  EXPECT_EQ(code, 0) << live;
  EXPECT_NE(live.find("\rIteration 300/300  loss "), std::string::npos) << live;
  EXPECT_NE(live.find("Optimization Done."), std::string::npos) << live;
  EXPECT_EQ(live.find(", lr = "), std::string::npos) << live;
  EXPECT_EQ(live.find("] Iteration 100 ("), std::string::npos) << live;

  const std::string logged = RunTrain(solver, /*terminal=*/false, &code);
  EXPECT_EQ(code, 0) << logged;
  EXPECT_EQ(logged.find('\r'), std::string::npos);
  for (const char* line : {"] Iteration 0, loss = ", "] Iteration 100 (",
                           "iters), loss = ", "] Iteration 200, lr = ", "] Iteration 300, loss = ",
                           "    Train net output #0: loss = "}) {
    EXPECT_NE(logged.find(line), std::string::npos) << line << "\n" << logged;
  }
}

TEST(ProgressTest, DivergingRunStopsNamingTheLayerAndTheLastSnapshot) {
  TempDir dir;
  const std::string solver =
      WriteSolver(dir, 1000, "base_lr: 1e30 lr_policy: \"fixed\" snapshot: 1");
  int code = -1;
  const std::string logged = RunTrain(solver, /*terminal=*/false, &code);
  EXPECT_EQ(code, 1) << logged;
  EXPECT_NE(logged.find("cortado: error: iteration "), std::string::npos) << logged;
  EXPECT_NE(logged.find("the first non-finite output is in layer '"), std::string::npos)
      << logged;
  EXPECT_NE(logged.find("The last good snapshot is " + dir.File("run_iter_")), std::string::npos)
      << logged;
}

}  // namespace
}  // namespace cortado
