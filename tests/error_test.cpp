// Every user mistake gets a clear error naming the file, layer, blob or field.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

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

// A shape with more than 32 axes aborted through a CHECK, wherever it came from.
TEST(ErrorTest, ShapesWithMoreThan32AxesNameTheLayer) {
  std::string dims;
  for (int i = 0; i < 33; ++i) dims += " dim: 1";
  const std::string input = "layer { name: 'in' type: 'Input' top: 'x' input_param { shape {" +
                            dims + " } } }";
  const std::string small = R"(layer { name: 'in' type: 'Input' top: 'x'
                                       input_param { shape { dim: 1 } } } )";
  const std::pair<std::string, std::string> nets[] = {
      {input, "layer 'in'"},
      {small + "layer { name: 'r' type: 'Reshape' bottom: 'x' top: 'y' reshape_param { shape {" +
           dims + " } } }",
       "layer 'r'"},
      {"layer { name: 'dummy' type: 'DummyData' top: 'x' dummy_data_param { shape {" + dims +
           " } } }",
       "layer 'dummy'"},
  };
  for (const auto& [text, layer] : nets) {
    caffe::NetParameter param;
    ReadProtoFromTextString(text, "inline", &param);
    const std::string what = ErrorOf([&] { Net net(param); });
    EXPECT_CONTAINS(what, layer);
    EXPECT_CONTAINS(what, "blob shape has 33 axes; at most 32 are supported");
  }
}

// Builds `text` as a net and returns the Error's message ("" if none).
std::string NetErrorOf(const std::string& text) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "inline", &param);
  return ErrorOf([&] { Net net(param); });
}

// Window and tile arithmetic overflowed int before the output-size check.
TEST(ErrorTest, OverflowingOutputShapesNameTheLayerAndField) {
  const std::string input = R"(layer { name: 'in' type: 'Input' top: 'x'
                                       input_param { shape { dim: 1 dim: 1 dim: 5 dim: 5 } } } )";
  struct Case {
    std::string layer;
    std::vector<std::string> fragments;
  };
  const Case cases[] = {
      {R"(layer { name: 'conv' type: 'Convolution' bottom: 'x' top: 'y'
                  convolution_param { num_output: 1 kernel_size: 3 pad: 2000000000 } })",
       {"layer 'conv'", "the padded height (5 + 2 x pad 2000000000) would be 4000000005, more "
                        "than 2147483647"}},
      {R"(layer { name: 'conv' type: 'Convolution' bottom: 'x' top: 'y'
                  convolution_param { num_output: 1 kernel_size: 3 pad: 3000000000 } })",
       {"layer 'conv'", "pad would be 3000000000, more than 2147483647"}},
      {R"(layer { name: 'conv' type: 'Convolution' bottom: 'x' top: 'y'
                  convolution_param { num_output: 1 kernel_size: 3 dilation: 2000000000 } })",
       {"layer 'conv'", "the kernel extent on the height axis (dilation 2000000000 x (kernel 3 "
                        "- 1) + 1) would be 4000000001"}},
      {R"(layer { name: 'conv' type: 'Convolution' bottom: 'x' top: 'y'
                  convolution_param { num_output: 1 kernel_size: 60000 pad: 29999
                                      weight_filler { type: 'constant' } } })",
       {"layer 'conv'", "the weights per output channel"}},
      {R"(layer { name: 'deconv' type: 'Deconvolution' bottom: 'x' top: 'y'
                  convolution_param { num_output: 1 kernel_size: 3 stride: 1000000000 } })",
       {"layer 'deconv'", "the output height (stride 1000000000 x (input 5 - 1) + dilation 1 x "
                          "(kernel 3 - 1) + 1 - 2 x pad 0) would be 4000000003"}},
      {R"(layer { name: 'pool' type: 'Pooling' bottom: 'x' top: 'y'
                  pooling_param { kernel_size: 2147483647 pad: 2147483646 } })",
       {"layer 'pool'", "the padded height (5 + 2 x pad 2147483646) would be 4294967297"}},
      {R"(layer { name: 'pool' type: 'Pooling' bottom: 'x' top: 'y'
                  pooling_param { kernel_size: 3 stride: 4000000000 } })",
       {"layer 'pool'", "pooling_param.stride_h would be 4000000000"}},
      {R"(layer { name: 'tile' type: 'Tile' bottom: 'x' top: 'y'
                  tile_param { axis: 2 tiles: 1000000000 } })",
       {"layer 'tile'", "tile_param.tiles 1000000000 times axis 2 (size 5) would be 5000000000, "
                        "more than 2147483647"}},
  };
  for (const Case& c : cases) {
    const std::string what = NetErrorOf(input + c.layer);
    for (const std::string& fragment : c.fragments) EXPECT_CONTAINS(what, fragment);
  }
}

// A shape that is valid but too big to allocate failed as a bare
// std::bad_alloc; the error now says which layer and how many bytes.
TEST(ErrorTest, UnallocatableBlobNamesTheLayerAndTheBytes) {
  caffe::NetParameter param;
  ReadProtoFromTextString(R"(
    layer { name: 'in' type: 'Input' top: 'x'
            input_param { shape { dim: 1048576 dim: 1048576 dim: 64 } } }
    layer { name: 'relu' type: 'ReLU' bottom: 'x' top: 'y' })", "inline", &param);
  Net net(param, "huge.prototxt");
  const std::string what = ErrorOf([&] { net.Forward(); });
  EXPECT_CONTAINS(what, "huge.prototxt: layer 'relu': could not allocate 281474976710656 bytes "
                        "of host memory for a blob");
}

// Pose-estimation models ship placeholder 1x1 input_dims and are reshaped
// before use; Caffe builds them, Cortado refused ("kernel larger than the
// input"). They build now, reshape to the real size and run; a forward on
// an input too small for a kernel is still an error.
TEST(ErrorTest, PlaceholderInputDimsBuildAndAreCheckedWhenRun) {
  caffe::NetParameter param;
  ReadProtoFromTextString(R"(
    name: "pose"
    input: "image" input_dim: 1 input_dim: 3 input_dim: 1 input_dim: 1
    layer { name: 'conv1' type: 'Convolution' bottom: 'image' top: 'conv1'
            convolution_param { num_output: 4 kernel_size: 3 pad: 1
                                weight_filler { type: 'gaussian' std: 0.1 } } }
    layer { name: 'pool1' type: 'Pooling' bottom: 'conv1' top: 'pool1'
            pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
    layer { name: 'conv2' type: 'Convolution' bottom: 'pool1' top: 'conv2'
            convolution_param { num_output: 2 kernel_size: 5 stride: 2
                                weight_filler { type: 'gaussian' std: 0.1 } } }
    layer { name: 'pool2' type: 'Pooling' bottom: 'conv2' top: 'pool2'
            pooling_param { pool: AVE kernel_size: 2 stride: 2 round_mode: FLOOR } })",
                          "inline", &param);
  Net net(param, "pose.prototxt");
  // Caffe's sizes: pool1 ceil((1 - 2) / 2) + 1 = 1; conv2 (1 - 5) / 2 + 1 = -1
  // (Caffe aborts; here an empty placeholder); pool2 floor((0 - 2) / 2) + 1 = 0.
  EXPECT_EQ(net.blob_by_name("pool1")->shape(), (std::vector<int>{1, 4, 1, 1}));
  EXPECT_EQ(net.blob_by_name("conv2")->shape(), (std::vector<int>{1, 2, 0, 0}));
  EXPECT_EQ(net.blob_by_name("pool2")->shape(), (std::vector<int>{1, 2, 0, 0}));
  std::string what = ErrorOf([&] { net.Forward(); });
  EXPECT_CONTAINS(what, "pose.prototxt: layer 'pool1' (Pooling): kernel 2x2 (pad 0x0) is larger "
                        "than the input 1 4 1 1 (4)");
  net.blob_by_name("image")->Reshape({1, 3, 24, 24});
  net.Reshape();
  EXPECT_EQ(net.blob_by_name("pool2")->shape(), (std::vector<int>{1, 2, 2, 2}));
  EXPECT_EQ(ErrorOf([&] { net.Forward(); }), "");
  // 6x6: pool1 gives 3x3, too small for conv2's 5x5 kernel.
  net.blob_by_name("image")->Reshape({1, 3, 6, 6});
  net.Reshape();
  what = ErrorOf([&] { net.Forward(); });
  EXPECT_CONTAINS(what, "layer 'conv2' (Convolution): kernel 5x5 (dilation 1x1, pad 0x0) does "
                        "not fit the input 1 4 3 3 (36): the output would be empty");
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
