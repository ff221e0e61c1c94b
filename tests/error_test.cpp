// Every user mistake gets a clear error naming the file, layer, blob or field.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

// Runs `body` and returns the Error's message ("" if none was thrown).
template <typename F>
std::string ErrorOf(F body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST(ErrorTest, MalformedPrototxtNamesFileLineAndColumn) {
  testing::TempDir dir;
  const std::string path = dir.File("bad.prototxt");
  WriteText(path, "name: \"x\"\nlayer {\n  name: \"a\"\n  typo_field: 3\n}\n");
  const std::string what = ErrorOf([&] {
    caffe::NetParameter param;
    ReadNetParamsFromTextFile(path, &param);
  });
  EXPECT_CONTAINS(what, path + ":4:");
  EXPECT_CONTAINS(what, "typo_field");
}

TEST(ErrorTest, UnknownLayerTypeSuggestsClosestNames) {
  testing::TempDir dir;
  const std::string path = dir.File("net.prototxt");
  WriteText(path, R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
    layer { name: "act" type: "Relu" bottom: "x" top: "y" })");
  const std::string what = ErrorOf([&] { Net net(path, caffe::TEST); });
  EXPECT_CONTAINS(what, path);
  EXPECT_CONTAINS(what, "'act'");
  EXPECT_CONTAINS(what, "'Relu'");
  EXPECT_CONTAINS(what, "ReLU");
}

TEST(ErrorTest, MissingBottomNamesLayerAndBlob) {
  caffe::NetParameter param;
  ReadProtoFromTextString(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
    layer { name: "act" type: "ReLU" bottom: "z" top: "y" })", "inline", &param);
  const std::string what = ErrorOf([&] { Net net(param); });
  EXPECT_CONTAINS(what, "'act'");
  EXPECT_CONTAINS(what, "'z'");
  EXPECT_CONTAINS(what, "x");
}

TEST(ErrorTest, ShapeMismatchNamesLayerBlobsAndShapes) {
  caffe::NetParameter param;
  ReadProtoFromTextString(R"(
    layer { name: "in" type: "Input" top: "a" top: "b"
            input_param { shape { dim: 2 dim: 3 } shape { dim: 5 } } }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "a" bottom: "b" top: "l" })",
                          "inline", &param);
  const std::string what = ErrorOf([&] { Net net(param); });
  EXPECT_CONTAINS(what, "'loss'");
  EXPECT_CONTAINS(what, "5");
}

TEST(ErrorTest, MissingFilesNameThePath) {
  const std::string missing = "/nonexistent/dir/model.caffemodel";
  caffe::NetParameter param;
  std::string what = ErrorOf([&] { ReadNetParamsFromBinaryFile(missing, &param); });
  EXPECT_CONTAINS(what, missing);
  what = ErrorOf([&] { ReadNetParamsFromTextFile("/nonexistent/net.prototxt", &param); });
  EXPECT_CONTAINS(what, "/nonexistent/net.prototxt");
}

TEST(ErrorTest, CorruptCaffemodelNamesThePath) {
  testing::TempDir dir;
  const std::string path = dir.File("corrupt.caffemodel");
  WriteText(path, std::string("\x0a\xff\xff\xff\x0f garbage", 13));
  caffe::NetParameter param;
  const std::string what = ErrorOf([&] { ReadNetParamsFromBinaryFile(path, &param); });
  EXPECT_CONTAINS(what, path);
  EXPECT_CONTAINS(what, "corrupt");
}

TEST(ErrorTest, DuplicateTopIsRejected) {
  caffe::NetParameter param;
  ReadProtoFromTextString(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
    layer { name: "a" type: "ReLU" bottom: "x" top: "y" }
    layer { name: "b" type: "ReLU" bottom: "x" top: "y" })", "inline", &param);
  const std::string what = ErrorOf([&] { Net net(param); });
  EXPECT_CONTAINS(what, "'b'");
  EXPECT_CONTAINS(what, "'y'");
}

// The CLI turns errors into one line on stderr and a non-zero exit.
TEST(ErrorTest, CommandLineReportsErrorsWithoutCrashing) {
  testing::TempDir dir;
  const std::string out = dir.File("out.txt");
  const std::string command = std::string(CORTADO_TOOL_PATH) +
                              " train --solver=/nonexistent/solver.prototxt > " + out + " 2>&1";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_CONTAINS(text, "cortado: error:");
  EXPECT_CONTAINS(text, "/nonexistent/solver.prototxt");
}

TEST(ErrorTest, AtomicWriteLeavesNoTemporaryBehind) {
  testing::TempDir dir;
  const std::string path = dir.File("state.bin");
  WriteFileAtomically(path, "first");
  WriteFileAtomically(path, "second");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "second");
  EXPECT_FALSE(FileExists(path + ".tmp"));
  EXPECT_THROW(WriteFileAtomically("/nonexistent/dir/x", "y"), Error);
}

// A net with two layers with parameters, built from a file.
const char kTwoIpNet[] = R"(
  name: "two_ip"
  layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
  layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "h"
          inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 1 } } }
  layer { name: "ip2" type: "InnerProduct" bottom: "h" top: "y"
          inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 1 } } }
)";

// Runs a command line; returns its exit status and its output in *output.
int RunCommand(const std::string& command, const testing::TempDir& dir, std::string* output) {
  const std::string log = dir.File("command.log");
  const int status = std::system((command + " > " + log + " 2>&1").c_str());
  std::ifstream in(log);
  output->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A directory, an empty file or a comment-only file ran as an empty net.
TEST(ErrorTest, NetFileThatIsADirectoryEmptyOrOnlyCommentsIsAnError) {
  testing::TempDir dir;
  WriteText(dir.File("empty.prototxt"), "");
  WriteText(dir.File("comments.prototxt"), "# name: \"x\"\n  # layer { }\n");
  caffe::NetParameter param;
  std::string what = ErrorOf([&] { ReadNetParamsFromTextFile(dir.path().string(), &param); });
  EXPECT_CONTAINS(what, "'" + dir.path().string() + "' is a directory, not a net prototxt file");
  for (const char* name : {"empty.prototxt", "comments.prototxt"}) {
    what = ErrorOf([&] { Net net(dir.File(name), caffe::TEST); });
    EXPECT_CONTAINS(what, "'" + dir.File(name) + "' is not a net prototxt: it sets no fields");
  }
  caffe::SolverParameter solver;
  what = ErrorOf([&] { ReadSolverParamsFromTextFile(dir.File("empty.prototxt"), &solver); });
  EXPECT_CONTAINS(what, "is not a solver prototxt");
  what = ErrorOf([&] { ReadNetParamsFromBinaryFile(dir.path().string(), &param); });
  EXPECT_CONTAINS(what, "is a directory, not a binary net file");
  what = ErrorOf([&] { ReadNetParamsFromBinaryFile(dir.File("empty.prototxt"), &param); });
  EXPECT_CONTAINS(what, "is not a binary net file: it is empty");

  std::string output;
  EXPECT_EQ(RunCommand(std::string(CORTADO_TOOL_PATH) + " time --model=" + dir.path().string(),
                       dir, &output), 1);
  EXPECT_CONTAINS(output, "is a directory");
  const std::string tools = CORTADO_TOOLS_DIR;
  EXPECT_NE(RunCommand(tools + "/upgrade_net_proto_text " + dir.File("comments.prototxt") + " " +
                       dir.File("out.prototxt"), dir, &output), 0);
  EXPECT_CONTAINS(output, "sets no fields");
  EXPECT_FALSE(FileExists(dir.File("out.prototxt")));
  EXPECT_NE(RunCommand(tools + "/upgrade_solver_proto_text " + dir.File("empty.prototxt") + " " +
                       dir.File("out.prototxt"), dir, &output), 0);
  EXPECT_NE(RunCommand(tools + "/upgrade_net_proto_binary " + dir.File("empty.prototxt") + " " +
                       dir.File("out.caffemodel"), dir, &output), 0);
  EXPECT_CONTAINS(output, "empty");
}

// --weights set to a directory, an empty file or another net's caffemodel
// ran on with random weights.
TEST(ErrorTest, WeightsThatMatchNoLayerAreAnError) {
  testing::TempDir dir;
  WriteText(dir.File("net.prototxt"), kTwoIpNet);
  WriteText(dir.File("empty.caffemodel"), "");
  caffe::NetParameter other;
  ReadProtoFromTextString(R"(
    name: "other"
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
    layer { name: "fc" type: "InnerProduct" bottom: "x" top: "y"
            inner_product_param { num_output: 4 } })", "other", &other);
  Net other_net(other);
  caffe::NetParameter other_weights;
  other_net.ToProto(&other_weights);
  WriteProtoToBinaryFile(other_weights, dir.File("other.caffemodel"));

  Net net(dir.File("net.prototxt"), caffe::TEST);
  std::string what = ErrorOf([&] { net.CopyTrainedLayersFrom(dir.path().string()); });
  EXPECT_CONTAINS(what, "is a directory");
  what = ErrorOf([&] { net.CopyTrainedLayersFrom(dir.File("empty.caffemodel")); });
  EXPECT_CONTAINS(what, "it is empty");
  what = ErrorOf([&] { net.CopyTrainedLayersFrom(dir.File("other.caffemodel")); });
  EXPECT_CONTAINS(what, dir.File("other.caffemodel") + ": the weights match no layer of net "
                        "'two_ip' (its layers with parameters: ip1, ip2; the weights have "
                        "layers fc)");

  for (const char* file : {"empty.caffemodel", "other.caffemodel"}) {
    std::string output;
    EXPECT_EQ(RunCommand(std::string(CORTADO_TOOL_PATH) + " test --iterations=1 --model=" +
                         dir.File("net.prototxt") + " --weights=" + dir.File(file), dir, &output),
              1) << file;
    EXPECT_CONTAINS(output, "cortado: error:");
    EXPECT_CONTAINS(output, dir.File(file));
  }
}

// A caffemodel cut at a message boundary loaded with the last layers random.
TEST(ErrorTest, TruncatedWeightsAreReportedAndAnErrorWhenTesting) {
  testing::TempDir dir;
  WriteText(dir.File("net.prototxt"), kTwoIpNet);
  Net trained(dir.File("net.prototxt"), caffe::TEST);
  caffe::NetParameter full;
  trained.ToProto(&full);
  caffe::NetParameter cut(full);
  cut.mutable_layer()->RemoveLast();  // ip2
  // Layers are serialised last and in order, so this is a byte prefix.
  const std::string bytes = full.SerializeAsString();
  const std::string prefix = cut.SerializeAsString();
  ASSERT_EQ(bytes.compare(0, prefix.size(), prefix), 0);
  WriteFileAtomically(dir.File("cut.caffemodel"), prefix);

  Net lenient(dir.File("net.prototxt"), caffe::TEST);
  EXPECT_NO_THROW(lenient.CopyTrainedLayersFrom(dir.File("cut.caffemodel")));  // warns
  Net strict(dir.File("net.prototxt"), caffe::TEST);
  const std::string what = ErrorOf([&] {
    strict.CopyTrainedLayersFrom(dir.File("cut.caffemodel"), Net::MissingWeights::kError);
  });
  EXPECT_CONTAINS(what, dir.File("cut.caffemodel") + ": the weights lack layers of net 'two_ip' "
                        "that have parameters: ip2");
  // Several files together may cover the net.
  caffe::NetParameter rest;
  rest.add_layer()->CopyFrom(full.layer(2));
  ASSERT_EQ(rest.layer(0).name(), "ip2");
  WriteProtoToBinaryFile(rest, dir.File("rest.caffemodel"));
  EXPECT_NO_THROW(strict.CopyTrainedLayersFrom(
      {dir.File("cut.caffemodel"), dir.File("rest.caffemodel")}, Net::MissingWeights::kError));

  std::string output;
  EXPECT_EQ(RunCommand(std::string(CORTADO_TOOL_PATH) + " test --iterations=1 --model=" +
                       dir.File("net.prototxt") + " --weights=" + dir.File("cut.caffemodel"),
                       dir, &output), 1);
  EXPECT_CONTAINS(output, "that have parameters: ip2");
}

// Input dims of 2^31 - 1 overflowed the element count and ran on.
TEST(ErrorTest, HugeInputShapeNamesTheLayerAndTheShape) {
  caffe::NetParameter param;
  ReadProtoFromTextString(R"(
    layer { name: "huge" type: "Input" top: "x"
            input_param { shape { dim: 2147483647 dim: 2147483647 dim: 2147483647 } } })",
                          "inline", &param);
  const std::string what = ErrorOf([&] { Net net(param); });
  EXPECT_CONTAINS(what, "layer 'huge'");
  EXPECT_CONTAINS(what, "2147483647 x 2147483647 x 2147483647");
}

// Errors raised in Forward named the layer but not the prototxt.
TEST(ErrorTest, ForwardErrorsNameThePrototxtAndTheLayer) {
  testing::TempDir dir;
  WriteText(dir.File("net.prototxt"), R"(
    layer { name: "in" type: "Input" top: "a" top: "b"
            input_param { shape { dim: 2 dim: 3 } shape { dim: 2 dim: 3 } } }
    layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "c" })");
  Net net(dir.File("net.prototxt"), caffe::TEST);
  net.blob_by_name("b")->Reshape({2, 4});
  const std::string what = ErrorOf([&] { net.Forward(); });
  EXPECT_CONTAINS(what, dir.File("net.prototxt") + ": ");
  EXPECT_CONTAINS(what, "layer 'sum'");
}

// Without ../shared/conformance the test binary crashed on an uncaught
// filesystem_error before main; the tests that need it skip instead.
TEST(ErrorTest, SuiteSkipsConformanceTestsWhenTheSetIsMissing) {
  if (std::getenv("CORTADO_CONFORMANCE_DIR") != nullptr) GTEST_SKIP() << "already the child";
  testing::TempDir dir;
  std::string output;
  const int status = RunCommand(
      "CORTADO_CONFORMANCE_DIR=" + dir.File("missing") + " /proc/" + std::to_string(getpid()) +
          "/exe --gtest_filter='Conformance*:Nets/ConformanceRun*:NetTest.LoadsReal*'",
      dir, &output);
  EXPECT_EQ(status, 0) << output;
  EXPECT_CONTAINS(output, "the conformance set " + dir.File("missing") + " is missing");
  EXPECT_CONTAINS(output, "[  SKIPPED ]");
}

}  // namespace
}  // namespace cortado
