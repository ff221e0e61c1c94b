// Tests for MnistReader, the IDX reading behind convert_mnist.
#include "cortado/mnist_reader.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "temp_dir.hpp"

namespace cortado {
namespace {

using testing::TempDir;

void PutBigEndian(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

std::string Header(uint32_t magic, uint32_t count, uint32_t rows = 0, uint32_t cols = 0) {
  std::string bytes;
  PutBigEndian(&bytes, magic);
  PutBigEndian(&bytes, count);
  if (rows != 0) {
    PutBigEndian(&bytes, rows);
    PutBigEndian(&bytes, cols);
  }
  return bytes;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(MnistReaderTest, YieldsEveryImageWithItsLabel) {
  TempDir dir;
  WriteFile(dir.File("images"), Header(2051, 2, 1, 3) + std::string("\x01\x02\x03\x04\x05\x06"));
  WriteFile(dir.File("labels"), Header(2049, 2) + std::string("\x07\x08"));
  MnistReader reader(dir.File("images"), dir.File("labels"));
  EXPECT_EQ(reader.count(), 2u);
  caffe::Datum datum;
  ASSERT_TRUE(reader.Next(&datum));
  EXPECT_EQ(datum.data(), "\x01\x02\x03");
  EXPECT_EQ(datum.label(), 7);
  EXPECT_EQ(datum.height(), 1);
  EXPECT_EQ(datum.width(), 3);
  ASSERT_TRUE(reader.Next(&datum));
  EXPECT_EQ(datum.data(), "\x04\x05\x06");
  EXPECT_EQ(datum.label(), 8);
  EXPECT_FALSE(reader.Next(&datum));
}

// A header promising 65536x65536 images in a file of a few bytes is a
// truncation error naming the file (read in chunks, not allocated up front).
TEST(MnistReaderTest, HugeImagesInAShortFileAreATruncationError) {
  TempDir dir;
  WriteFile(dir.File("images"), Header(2051, 1, 65536, 65536) + std::string(10, '\0'));
  WriteFile(dir.File("labels"), Header(2049, 1) + std::string(1, '\0'));
  MnistReader reader(dir.File("images"), dir.File("labels"));
  caffe::Datum datum;
  try {
    reader.Next(&datum);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.File("images")), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(MnistReaderTest, ImageSizeBeyondTheLimitIsAnError) {
  TempDir dir;
  WriteFile(dir.File("images"), Header(2051, 1, 65537, 1));
  WriteFile(dir.File("labels"), Header(2049, 1));
  EXPECT_THROW(MnistReader(dir.File("images"), dir.File("labels")), Error);
}

}  // namespace
}  // namespace cortado
