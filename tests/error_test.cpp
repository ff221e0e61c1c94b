// Every user mistake gets a clear error naming the file, layer, blob or field.
#include <cstdio>
#include <cstdlib>
#include <fstream>
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

}  // namespace
}  // namespace cortado
