// Tests for the convert_mnist tool: IDX files (plain and gzip) in, LMDB out.
#include <gtest/gtest.h>
#include <zlib.h>

#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cortado/db.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using testing::TempDir;

constexpr int kCount = 3;
constexpr int kRows = 2;
constexpr int kCols = 3;

void PutBigEndian(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

std::string ImageIdx(uint32_t magic = 2051, uint32_t count = kCount) {
  std::string bytes;
  PutBigEndian(&bytes, magic);
  PutBigEndian(&bytes, count);
  PutBigEndian(&bytes, kRows);
  PutBigEndian(&bytes, kCols);
  for (int i = 0; i < kCount * kRows * kCols; ++i) bytes.push_back(static_cast<char>(i * 7));
  return bytes;
}

std::string LabelIdx(uint32_t count = kCount) {
  std::string bytes;
  PutBigEndian(&bytes, 2049);
  PutBigEndian(&bytes, count);
  for (int i = 0; i < kCount; ++i) bytes.push_back(static_cast<char>(9 - i));
  return bytes;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void WriteGzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(file);
}

// Runs the tool; returns its exit status and leaves stderr in *errors.
int RunConvert(const TempDir& dir, const std::string& images, const std::string& labels,
               const std::string& db, std::string* errors) {
  const std::string err_path = dir.File("stderr.txt");
  std::string command = std::string(CORTADO_CONVERT_MNIST_PATH) + " '" + images + "' '" +
                        labels + "' '" + db + "' --backend=lmdb > /dev/null 2> '" +
                        err_path + "'";
  int status = std::system(command.c_str());
  std::ifstream in(err_path);
  std::stringstream text;
  text << in.rdbuf();
  *errors = text.str();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ExpectConverted(const std::string& db_path) {
  auto db = OpenDatabase(caffe::DataParameter::LMDB, db_path, Database::Mode::kRead);
  ASSERT_EQ(db->size(), kCount);
  auto cursor = db->NewCursor();
  for (int i = 0; i < kCount; ++i, cursor->Next()) {
    ASSERT_TRUE(cursor->valid());
    char key[16];
    std::snprintf(key, sizeof(key), "%08d", i);
    EXPECT_EQ(cursor->key(), key);
    caffe::Datum datum;
    ASSERT_TRUE(datum.ParseFromString(cursor->value()));
    EXPECT_EQ(datum.channels(), 1);
    EXPECT_EQ(datum.height(), kRows);
    EXPECT_EQ(datum.width(), kCols);
    EXPECT_EQ(datum.label(), 9 - i);
    EXPECT_FALSE(datum.encoded());
    ASSERT_EQ(datum.data().size(), static_cast<size_t>(kRows * kCols));
    for (int j = 0; j < kRows * kCols; ++j) {
      EXPECT_EQ(static_cast<uint8_t>(datum.data()[j]),
                static_cast<uint8_t>((i * kRows * kCols + j) * 7));
    }
  }
}

TEST(ConvertMnistTest, PlainIdxFiles) {
  TempDir dir;
  WriteFile(dir.File("images"), ImageIdx());
  WriteFile(dir.File("labels"), LabelIdx());
  std::string errors;
  ASSERT_EQ(RunConvert(dir, dir.File("images"), dir.File("labels"), dir.File("db"), &errors), 0)
      << errors;
  ExpectConverted(dir.File("db"));
}

TEST(ConvertMnistTest, GzipIdxFiles) {
  TempDir dir;
  WriteGzip(dir.File("images.gz"), ImageIdx());
  WriteGzip(dir.File("labels.gz"), LabelIdx());
  std::string errors;
  ASSERT_EQ(
      RunConvert(dir, dir.File("images.gz"), dir.File("labels.gz"), dir.File("db"), &errors), 0)
      << errors;
  ExpectConverted(dir.File("db"));
}

TEST(ConvertMnistTest, WrongMagicFails) {
  TempDir dir;
  WriteFile(dir.File("images"), ImageIdx(2049));
  WriteFile(dir.File("labels"), LabelIdx());
  std::string errors;
  EXPECT_NE(RunConvert(dir, dir.File("images"), dir.File("labels"), dir.File("db"), &errors), 0);
  EXPECT_NE(errors.find("convert_mnist: "), std::string::npos) << errors;
  EXPECT_NE(errors.find("magic"), std::string::npos) << errors;
}

TEST(ConvertMnistTest, CountMismatchFails) {
  TempDir dir;
  WriteFile(dir.File("images"), ImageIdx());
  WriteFile(dir.File("labels"), LabelIdx(kCount + 1));
  std::string errors;
  EXPECT_NE(RunConvert(dir, dir.File("images"), dir.File("labels"), dir.File("db"), &errors), 0);
  EXPECT_NE(errors.find("labels"), std::string::npos) << errors;
}

TEST(ConvertMnistTest, TruncatedImagesFail) {
  TempDir dir;
  std::string images = ImageIdx();
  images.resize(images.size() - 1);
  WriteFile(dir.File("images"), images);
  WriteFile(dir.File("labels"), LabelIdx());
  std::string errors;
  EXPECT_NE(RunConvert(dir, dir.File("images"), dir.File("labels"), dir.File("db"), &errors), 0);
  EXPECT_NE(errors.find("truncated"), std::string::npos) << errors;
  // The records before the cut went to a temporary database, now removed:
  // nothing readable is left under the output name, nor beside it.
  EXPECT_FALSE(std::filesystem::exists(dir.File("db")));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find("db.tmp"), std::string::npos) << entry.path();
  }
}

TEST(ConvertMnistTest, RefusesToOverwriteADatabase) {
  TempDir dir;
  WriteFile(dir.File("images"), ImageIdx());
  WriteFile(dir.File("labels"), LabelIdx());
  std::string errors;
  ASSERT_EQ(RunConvert(dir, dir.File("images"), dir.File("labels"), dir.File("db"), &errors), 0);
  EXPECT_NE(RunConvert(dir, dir.File("images"), dir.File("labels"), dir.File("db"), &errors), 0);
  EXPECT_NE(errors.find(dir.File("db")), std::string::npos) << errors;
}

}  // namespace
}  // namespace cortado
