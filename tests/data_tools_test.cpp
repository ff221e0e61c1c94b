// convert_imageset, compute_image_mean and extract_features, run as the
// user runs them, on tiny images written with OpenCV into a temp dir.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "cortado/db.hpp"
#include "cortado/image_io.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

const std::string kTools = CORTADO_TOOLS_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int RunTool(const std::string& tool, const std::string& args, const std::string& log) {
  const std::string command = kTools + "/" + tool + " " + args + " > " + log + " 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Every record of a database, by key.
std::map<std::string, caffe::Datum> ReadDb(const std::string& path) {
  std::map<std::string, caffe::Datum> records;
  auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kRead);
  auto cursor = db->NewCursor();
  for (cursor->SeekToFirst(); cursor->valid(); cursor->Next()) {
    caffe::Datum datum;
    EXPECT_TRUE(datum.ParseFromString(cursor->value()));
    records[cursor->key()] = datum;
  }
  return records;
}

// Three 4x5 BGR images, each one flat colour (b, g, r) = (10k, 20k, 30k) for
// k = 1..3, a text file posing as a PNG, and a list that also names a file
// that does not exist.
class DataToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int k = 1; k <= 3; ++k) {
      cv::Mat image(4, 5, CV_8UC3, cv::Scalar(10 * k, 20 * k, 30 * k));
      ASSERT_TRUE(cv::imwrite(dir_.File("img" + std::to_string(k) + ".png"), image));
    }
    std::ofstream(dir_.File("broken.png")) << "this is not an image";
    std::ofstream(dir_.File("list.txt"))
        << "img1.png 0\nbroken.png 1\nimg2.png 1\nmissing.png 2\nimg3.png 2\n";
  }
  std::string Root() const { return dir_.path().string() + "/"; }

  testing::TempDir dir_;
};

TEST_F(DataToolsTest, ConvertsRawImagesAndSkipsUnreadableOnes) {
  const std::string log = dir_.File("log");
  ASSERT_EQ(RunTool("convert_imageset", Root() + " " + dir_.File("list.txt") + " " +
                                            dir_.File("db"), log),
            0)
      << ReadFile(log);
  const std::string text = ReadFile(log);
  EXPECT_NE(text.find("A total of 5 images."), std::string::npos) << text;
  EXPECT_NE(text.find("Processed 3 files."), std::string::npos) << text;
  EXPECT_NE(text.find("Skipped 2 unreadable images."), std::string::npos) << text;
  EXPECT_NE(text.find("Skipping unreadable image " + Root() + "missing.png"), std::string::npos);
  const auto records = ReadDb(dir_.File("db"));
  ASSERT_EQ(records.size(), 3u);
  const caffe::Datum& second = records.at("00000002_img2.png");
  EXPECT_EQ(second.label(), 1);
  EXPECT_EQ(second.channels(), 3);
  EXPECT_EQ(second.height(), 4);
  EXPECT_EQ(second.width(), 5);
  ASSERT_EQ(second.data().size(), 60u);
  // Channel-major BGR: 20 blue bytes, then 20 green, then 20 red.
  EXPECT_EQ(static_cast<uint8_t>(second.data()[0]), 20);
  EXPECT_EQ(static_cast<uint8_t>(second.data()[20]), 40);
  EXPECT_EQ(static_cast<uint8_t>(second.data()[59]), 60);
}

TEST_F(DataToolsTest, GrayResizeAndShuffle) {
  const std::string log = dir_.File("log");
  const std::string args = "--gray --resize_height=2 --resize_width=3 --shuffle " + Root() +
                           " " + dir_.File("list.txt") + " ";
  ASSERT_EQ(RunTool("convert_imageset", args + dir_.File("a"), log), 0) << ReadFile(log);
  ASSERT_EQ(RunTool("convert_imageset", args + dir_.File("b"), log), 0) << ReadFile(log);
  const auto a = ReadDb(dir_.File("a"));
  ASSERT_EQ(a.size(), 3u);
  std::multiset<int> labels;
  for (const auto& [key, datum] : a) {
    EXPECT_EQ(datum.channels(), 1);
    EXPECT_EQ(datum.height(), 2);
    EXPECT_EQ(datum.width(), 3);
    labels.insert(datum.label());
  }
  EXPECT_EQ(labels, (std::multiset<int>{0, 1, 2}));
  // The shuffle is seeded: the same list gives the same database.
  const auto b = ReadDb(dir_.File("b"));
  ASSERT_EQ(a.size(), b.size());
  for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
    EXPECT_EQ(i->first, j->first);
    EXPECT_EQ(i->second.SerializeAsString(), j->second.SerializeAsString());
  }
}

TEST_F(DataToolsTest, EncodedKeepsFileBytesOrReencodes) {
  const std::string log = dir_.File("log");
  const std::string list = dir_.File("list.txt");
  ASSERT_EQ(RunTool("convert_imageset", "--encoded " + Root() + " " + list + " " +
                                            dir_.File("png"), log),
            0)
      << ReadFile(log);
  const auto png = ReadDb(dir_.File("png"));
  ASSERT_EQ(png.size(), 3u);
  const caffe::Datum& first = png.at("00000000_img1.png");
  EXPECT_TRUE(first.encoded());
  EXPECT_EQ(first.data(), ReadFile(dir_.File("img1.png")));

  ASSERT_EQ(RunTool("convert_imageset", "--encoded --encode_type=jpg " + Root() + " " + list +
                                            " " + dir_.File("jpg"), log),
            0)
      << ReadFile(log);
  const caffe::Datum jpg = ReadDb(dir_.File("jpg")).at("00000004_img3.png");
  ASSERT_GE(jpg.data().size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(jpg.data()[0]), 0xFF);  // JPEG's SOI marker
  EXPECT_EQ(static_cast<uint8_t>(jpg.data()[1]), 0xD8);
  const caffe::Datum decoded = DecodedDatum(jpg);
  EXPECT_EQ(decoded.channels(), 3);
  EXPECT_EQ(decoded.height(), 4);
  EXPECT_NEAR(static_cast<uint8_t>(decoded.data()[0]), 30, 3);  // lossy, but close
}

// A conversion that fails halfway (here at the second image, after the
// first was written) leaves no database, partial or temporary, behind.
TEST_F(DataToolsTest, FailedConversionLeavesNoDatabase) {
  const std::string log = dir_.File("log");
  cv::imwrite(dir_.File("big.png"), cv::Mat(6, 6, CV_8UC3, cv::Scalar(1, 2, 3)));
  std::ofstream(dir_.File("mixed.txt")) << "img1.png 0\nbig.png 1\n";
  ASSERT_EQ(RunTool("convert_imageset", "--check_size " + Root() + " " + dir_.File("mixed.txt") +
                                            " " + dir_.File("mixed"), log),
            1);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("mixed"))) << ReadFile(log);
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename().string().find("mixed.tmp"), std::string::npos)
        << entry.path();
  }
  // compute_image_mean writes its output atomically too.
  ASSERT_NE(RunTool("compute_image_mean", dir_.File("mixed") + " " + dir_.File("mean"), log), 0);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("mean")));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("mean.tmp")));
}

TEST_F(DataToolsTest, ErrorsAreClear) {
  const std::string log = dir_.File("log");
  cv::imwrite(dir_.File("big.png"), cv::Mat(6, 6, CV_8UC3, cv::Scalar(1, 2, 3)));
  std::ofstream(dir_.File("mixed.txt")) << "img1.png 0\nbig.png 1\n";
  EXPECT_EQ(RunTool("convert_imageset", "--check_size " + Root() + " " + dir_.File("mixed.txt") +
                                            " " + dir_.File("mixed"), log),
            1);
  EXPECT_NE(ReadFile(log).find("--check_size: " + Root() + "big.png is 3x6x6 but the first "
                               "image is 3x4x5"),
            std::string::npos)
      << ReadFile(log);

  std::ofstream(dir_.File("bad.txt")) << "img1.png 0\nimg2.png two\n";
  EXPECT_EQ(RunTool("convert_imageset", Root() + " " + dir_.File("bad.txt") + " " +
                                            dir_.File("bad"), log),
            1);
  EXPECT_NE(ReadFile(log).find(dir_.File("bad.txt") + ":2: expected"), std::string::npos)
      << ReadFile(log);

  std::ofstream(dir_.File("none.txt")) << "missing.png 0\n";
  EXPECT_EQ(RunTool("convert_imageset", Root() + " " + dir_.File("none.txt") + " " +
                                            dir_.File("none"), log),
            1);
  EXPECT_NE(ReadFile(log).find("none of the 1 images could be read"), std::string::npos)
      << ReadFile(log);
  EXPECT_EQ(RunTool("convert_imageset", "--backend=sqlite " + Root() + " " +
                                            dir_.File("list.txt") + " " + dir_.File("x"), log),
            1);
  EXPECT_NE(ReadFile(log).find("--backend=sqlite is not one of"), std::string::npos);
}

TEST_F(DataToolsTest, ComputeImageMeanOfRawAndEncodedDatabases) {
  const std::string log = dir_.File("log");
  const std::string list = dir_.File("list.txt");
  ASSERT_EQ(RunTool("convert_imageset", Root() + " " + list + " " + dir_.File("raw"), log), 0);
  ASSERT_EQ(RunTool("convert_imageset", "--encoded " + Root() + " " + list + " " +
                                            dir_.File("enc"), log),
            0);
  for (const char* db : {"raw", "enc"}) {
    const std::string mean_file = dir_.File(std::string(db) + "_mean.binaryproto");
    ASSERT_EQ(RunTool("compute_image_mean", dir_.File(db) + " " + mean_file, log), 0)
        << ReadFile(log);
    EXPECT_NE(ReadFile(log).find("mean_value channel [2]: 60"), std::string::npos)
        << ReadFile(log);
    caffe::BlobProto mean;
    ReadProtoFromBinaryFile(mean_file, &mean);
    EXPECT_EQ(mean.num(), 1);
    EXPECT_EQ(mean.channels(), 3);
    EXPECT_EQ(mean.height(), 4);
    EXPECT_EQ(mean.width(), 5);
    ASSERT_EQ(mean.data_size(), 60);
    EXPECT_FLOAT_EQ(mean.data(0), 20.f);   // blue: (10 + 20 + 30) / 3
    EXPECT_FLOAT_EQ(mean.data(20), 40.f);  // green
    EXPECT_FLOAT_EQ(mean.data(59), 60.f);  // red
  }
  EXPECT_EQ(RunTool("compute_image_mean", dir_.File("no_such_db"), log), 1);
  EXPECT_NE(ReadFile(log).find("compute_image_mean: error: "), std::string::npos);
}

// A Datum with 100000-sized dims and no data overflowed the plane size and
// read the mean out of range (a NULL dereference).
TEST_F(DataToolsTest, ComputeImageMeanRejectsDimsThatDoNotMatchTheData) {
  const std::string log = dir_.File("log");
  struct Case {
    const char* db;
    int channels, height, width;
    std::string data;
    const char* message;
  };
  const Case cases[] = {
      {"huge", 100000, 100000, 100000, "",
       "is 100000x100000x100000 = 1000000000000000 values but holds 0"},
      {"short", 1, 2, 3, "abc", "is 1x2x3 = 6 values but holds 3"},
      {"negative", -1, 2, 3, "abcdef", "has a negative dimension (-1x2x3)"},
  };
  for (const Case& c : cases) {
    {
      auto db = OpenDatabase(caffe::DataParameter::LMDB, dir_.File(c.db), Database::Mode::kNew);
      auto txn = db->NewTransaction();
      caffe::Datum datum;
      datum.set_channels(c.channels);
      datum.set_height(c.height);
      datum.set_width(c.width);
      datum.set_data(c.data);
      txn->Put("00000000", datum.SerializeAsString());
      txn->Commit();
    }
    EXPECT_EQ(RunTool("compute_image_mean", dir_.File(c.db) + " " + dir_.File("mean"), log), 1)
        << c.db << ": " << ReadFile(log);
    const std::string text = ReadFile(log);
    EXPECT_NE(text.find("compute_image_mean: error: " + dir_.File(c.db) +
                        ": record '00000000' " + c.message),
              std::string::npos) << text;
  }
}

TEST_F(DataToolsTest, ExtractFeaturesStoresOneDatumPerItem) {
  const std::string log = dir_.File("log");
  ASSERT_EQ(RunTool("convert_imageset", Root() + " " + dir_.File("list.txt") + " " +
                                            dir_.File("db"), log),
            0);
  // Sums every pixel (weights 1, bias 0): one number per image.
  const std::string net = dir_.File("net.prototxt");
  std::ofstream(net) << "layer { name: 'data' type: 'Data' top: 'data' top: 'label'\n"
                        "  data_param { source: '" << dir_.File("db") << "' batch_size: 2 "
                        "backend: LMDB } }\n"
                        "layer { name: 'sum' type: 'InnerProduct' bottom: 'data' top: 'sum'\n"
                        "  inner_product_param { num_output: 1\n"
                        "    weight_filler { type: 'constant' value: 1 } } }\n";
  const std::string weights = dir_.File("net.caffemodel");
  {
    Net model(net, caffe::TEST);
    caffe::NetParameter trained;
    model.ToProto(&trained);
    WriteProtoToBinaryFile(trained, weights);
  }
  ASSERT_EQ(RunTool("extract_features", weights + " " + net + " sum,label " + dir_.File("f_sum") +
                                            "," + dir_.File("f_label") + " 2 lmdb",
                    log),
            0)
      << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("Extracted features of 4 items for blob sum"), std::string::npos)
      << ReadFile(log);
  const auto sums = ReadDb(dir_.File("f_sum"));
  ASSERT_EQ(sums.size(), 4u);  // two batches of two; the data wraps around
  const caffe::Datum& first = sums.at("0000000000");
  EXPECT_EQ(first.channels(), 1);
  ASSERT_EQ(first.float_data_size(), 1);
  EXPECT_FLOAT_EQ(first.float_data(0), 20 * (10 + 20 + 30));  // image 1
  EXPECT_FLOAT_EQ(sums.at("0000000003").float_data(0), 20 * (10 + 20 + 30));  // wrapped
  EXPECT_FLOAT_EQ(ReadDb(dir_.File("f_label")).at("0000000001").float_data(0), 1.f);

  EXPECT_EQ(RunTool("extract_features", weights + " " + net + " nope " + dir_.File("x") +
                                            " 1 lmdb", log),
            1);
  EXPECT_NE(ReadFile(log).find("no blob named 'nope'"), std::string::npos) << ReadFile(log);
  EXPECT_EQ(RunTool("extract_features", weights + " " + net + " sum,label " + dir_.File("y") +
                                            " 1 lmdb", log),
            1);
  EXPECT_NE(ReadFile(log).find("give one database per blob"), std::string::npos);
}

}  // namespace
}  // namespace cortado
