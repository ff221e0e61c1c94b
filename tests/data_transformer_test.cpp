// Tests for DataTransformer: scale, means, crop, mirror, encoded images, errors.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/text_format.h>

#include "cortado/data_transformer.hpp"
#include "cortado/rng.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using testing::TempDir;

caffe::TransformationParameter Param(const std::string& text) {
  caffe::TransformationParameter param;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &param)) << text;
  return param;
}

// A C x H x W datum whose pixel (c, h, w) is c*100 + h*10 + w.
caffe::Datum IndexDatum(int channels, int height, int width) {
  caffe::Datum datum;
  datum.set_channels(channels);
  datum.set_height(height);
  datum.set_width(width);
  std::string bytes;
  for (int c = 0; c < channels; ++c)
    for (int h = 0; h < height; ++h)
      for (int w = 0; w < width; ++w) bytes.push_back(static_cast<char>(c * 100 + h * 10 + w));
  datum.set_data(bytes);
  datum.set_label(3);
  return datum;
}

std::vector<float> TransformAll(DataTransformer* transformer, const caffe::Datum& datum) {
  std::vector<int> shape = transformer->InferShape(datum);
  std::vector<float> out(static_cast<size_t>(shape[1]) * shape[2] * shape[3], -999.f);
  transformer->Transform(datum, out.data());
  return out;
}

TEST(DataTransformerTest, ScaleOnly) {
  DataTransformer t(Param("scale: 0.5"), caffe::TEST);
  caffe::Datum datum = IndexDatum(2, 2, 3);
  EXPECT_EQ(t.InferShape(datum), (std::vector<int>{1, 2, 2, 3}));
  std::vector<float> out = TransformAll(&t, datum);
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 3; ++w)
        EXPECT_FLOAT_EQ(out[(c * 2 + h) * 3 + w], 0.5f * (c * 100 + h * 10 + w));
}

TEST(DataTransformerTest, FloatDataIsUsedWhenBytesAreAbsent) {
  caffe::Datum datum;
  datum.set_channels(1);
  datum.set_height(1);
  datum.set_width(3);
  for (float v : {-1.5f, 0.25f, 7.f}) datum.add_float_data(v);
  DataTransformer t(Param("scale: 2 mean_value: 1"), caffe::TEST);
  std::vector<float> out = TransformAll(&t, datum);
  EXPECT_FLOAT_EQ(out[0], 2 * (-1.5f - 1));
  EXPECT_FLOAT_EQ(out[1], 2 * (0.25f - 1));
  EXPECT_FLOAT_EQ(out[2], 2 * (7.f - 1));
}

TEST(DataTransformerTest, SingleMeanValueAppliesToEveryChannel) {
  DataTransformer t(Param("mean_value: 5 scale: 2"), caffe::TEST);
  caffe::Datum datum = IndexDatum(2, 1, 2);
  std::vector<float> out = TransformAll(&t, datum);
  // Caffe order: subtract the mean, then scale.
  EXPECT_EQ(out, (std::vector<float>{2 * (0 - 5.f), 2 * (1 - 5.f), 2 * (100 - 5.f),
                                     2 * (101 - 5.f)}));
}

TEST(DataTransformerTest, MeanValuePerChannel) {
  DataTransformer t(Param("mean_value: 1 mean_value: 50"), caffe::TEST);
  caffe::Datum datum = IndexDatum(2, 1, 2);
  EXPECT_EQ(TransformAll(&t, datum), (std::vector<float>{-1, 0, 50, 51}));
}

TEST(DataTransformerTest, WrongNumberOfMeanValuesIsAnError) {
  DataTransformer t(Param("mean_value: 1 mean_value: 2"), caffe::TEST);
  caffe::Datum datum = IndexDatum(3, 1, 1);
  std::vector<float> out(3);
  EXPECT_THROW(t.Transform(datum, out.data()), Error);
}

TEST(DataTransformerTest, CentreCropInTest) {
  DataTransformer t(Param("crop_size: 2"), caffe::TEST);
  caffe::Datum datum = IndexDatum(1, 4, 5);
  EXPECT_EQ(t.InferShape(datum), (std::vector<int>{1, 1, 2, 2}));
  // Offsets (4-2)/2 = 1 and (5-2)/2 = 1.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(TransformAll(&t, datum), (std::vector<float>{11, 12, 21, 22}));
  }
}

TEST(DataTransformerTest, MirrorIsNotAppliedInTest) {
  DataTransformer t(Param("mirror: true"), caffe::TEST);
  caffe::Datum datum = IndexDatum(1, 1, 3);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(TransformAll(&t, datum), (std::vector<float>{0, 1, 2}));
}

TEST(DataTransformerTest, MirrorInTrainFlipsSomeOfTheTime) {
  SetRandomSeed(1701);
  DataTransformer t(Param("mirror: true"), caffe::TRAIN);
  caffe::Datum datum = IndexDatum(2, 2, 3);
  const std::vector<float> plain = {0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112};
  const std::vector<float> flipped = {2, 1, 0, 12, 11, 10, 102, 101, 100, 112, 111, 110};
  int flips = 0;
  for (int i = 0; i < 40; ++i) {
    std::vector<float> out = TransformAll(&t, datum);
    if (out == flipped) {
      ++flips;
    } else {
      EXPECT_EQ(out, plain);
    }
  }
  EXPECT_GT(flips, 5);
  EXPECT_LT(flips, 35);
}

TEST(DataTransformerTest, RandomCropInTrainStaysInsideAndVaries) {
  SetRandomSeed(42);
  DataTransformer t(Param("crop_size: 2"), caffe::TRAIN);
  caffe::Datum datum = IndexDatum(1, 4, 4);
  std::set<std::pair<int, int>> offsets;
  for (int i = 0; i < 60; ++i) {
    std::vector<float> out = TransformAll(&t, datum);
    int h_off = static_cast<int>(out[0]) / 10;
    int w_off = static_cast<int>(out[0]) % 10;
    ASSERT_LE(h_off, 2);
    ASSERT_LE(w_off, 2);
    EXPECT_EQ(out, (std::vector<float>{out[0], out[0] + 1, out[0] + 10, out[0] + 11}));
    offsets.insert({h_off, w_off});
  }
  EXPECT_GT(offsets.size(), 4u);  // 9 possible windows
}

TEST(DataTransformerTest, SameGlobalSeedGivesSameAugmentation) {
  caffe::Datum datum = IndexDatum(1, 6, 6);
  auto sequence = [&] {
    SetRandomSeed(9);
    DataTransformer t(Param("crop_size: 3 mirror: true"), caffe::TRAIN);
    std::vector<float> all;
    for (int i = 0; i < 20; ++i) {
      std::vector<float> out = TransformAll(&t, datum);
      all.insert(all.end(), out.begin(), out.end());
    }
    return all;
  };
  EXPECT_EQ(sequence(), sequence());
}

TEST(DataTransformerTest, ReseedRestartsTheAugmentationStream) {
  caffe::Datum datum = IndexDatum(1, 6, 6);
  auto draw = [&](DataTransformer* t) {
    std::vector<float> all;
    for (int i = 0; i < 20; ++i) {
      std::vector<float> out = TransformAll(t, datum);
      all.insert(all.end(), out.begin(), out.end());
    }
    return all;
  };
  SetRandomSeed(9);
  DataTransformer t(Param("crop_size: 3 mirror: true"), caffe::TRAIN);
  const uint32_t seed = t.seed();
  const std::vector<float> fresh = draw(&t);
  // Restarting from the construction seed replays the stream; seed() stays.
  t.Reseed(seed);
  EXPECT_EQ(draw(&t), fresh);
  // A replica's derived seed gives another stream (16 crops x 2 mirrors per
  // draw: equal over 20 draws by chance with probability 32^-20).
  t.Reseed(ReplicaSeed(seed, 1));
  const std::vector<float> replica = draw(&t);
  EXPECT_NE(replica, fresh);
  EXPECT_EQ(t.seed(), seed);
  EXPECT_NE(ReplicaSeed(seed, 1), ReplicaSeed(seed, 2));
  EXPECT_NE(ReplicaSeed(seed, 1), ReplicaSeed(seed + 1, 1));
}

TEST(DataTransformerTest, CropLargerThanImageIsAnError) {
  DataTransformer t(Param("crop_size: 5"), caffe::TEST);
  caffe::Datum datum = IndexDatum(1, 4, 6);
  EXPECT_THROW(t.InferShape(datum), Error);
  std::vector<float> out(100);
  EXPECT_THROW(t.Transform(datum, out.data()), Error);
}

TEST(DataTransformerTest, DataSizeMismatchIsAnError) {
  DataTransformer t(Param(""), caffe::TEST);
  caffe::Datum datum = IndexDatum(1, 2, 2);
  datum.set_width(3);
  EXPECT_THROW(t.InferShape(datum), Error);
}

void WriteMean(const std::string& path, int channels, int height, int width,
               float base) {
  caffe::BlobProto proto;
  proto.set_num(1);
  proto.set_channels(channels);
  proto.set_height(height);
  proto.set_width(width);
  for (int i = 0; i < channels * height * width; ++i) proto.add_data(base + i);
  std::ofstream out(path, std::ios::binary);
  ASSERT_TRUE(proto.SerializeToOstream(&out));
}

TEST(DataTransformerTest, MeanFileIsCroppedWithTheImage) {
  TempDir dir;
  const std::string mean_path = dir.File("mean.binaryproto");
  WriteMean(mean_path, 1, 4, 4, 0.5f);  // mean(h, w) = 0.5 + 4h + w
  DataTransformer t(Param("crop_size: 2 mean_file: '" + mean_path + "'"), caffe::TEST);
  caffe::Datum datum = IndexDatum(1, 4, 4);
  std::vector<float> out = TransformAll(&t, datum);
  std::vector<float> expected;
  for (int h = 1; h < 3; ++h)
    for (int w = 1; w < 3; ++w) expected.push_back((h * 10 + w) - (0.5f + 4 * h + w));
  EXPECT_EQ(out, expected);
}

TEST(DataTransformerTest, MeanFileShapeMismatchIsAnError) {
  TempDir dir;
  const std::string mean_path = dir.File("mean.binaryproto");
  WriteMean(mean_path, 1, 3, 3, 0);
  DataTransformer t(Param("mean_file: '" + mean_path + "'"), caffe::TEST);
  caffe::Datum datum = IndexDatum(1, 4, 4);
  std::vector<float> out(16);
  try {
    t.Transform(datum, out.data());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(mean_path), std::string::npos) << e.what();
  }
}

// Writes proto as a mean file and expects the transformer to reject it with
// an error naming the file and containing fragment.
void ExpectMeanFileRejected(const caffe::BlobProto& proto, const std::string& fragment) {
  TempDir dir;
  const std::string mean_path = dir.File("mean.binaryproto");
  std::ofstream(mean_path, std::ios::binary) << proto.SerializeAsString();
  try {
    DataTransformer t(Param("mean_file: '" + mean_path + "'"), caffe::TEST);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(mean_path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

// A NaN mean turned every input and the loss into NaN, and the run exited 0.
TEST(DataTransformerTest, NonFiniteMeanFileIsAnErrorNamingTheFile) {
  caffe::BlobProto proto;
  for (int dim : {1, 2, 2}) proto.mutable_shape()->add_dim(dim);
  for (float v : {1.f, NAN, 2.f, 3.f}) proto.add_data(v);
  ExpectMeanFileRejected(proto, "element 1");
}

// A dimension of 28 + 2^32 was read as 28.
TEST(DataTransformerTest, MeanFileDimensionBeyondIntIsAnError) {
  caffe::BlobProto proto;
  for (int64_t dim : {int64_t{1}, 28 + (int64_t{1} << 32), int64_t{1}}) {
    proto.mutable_shape()->add_dim(dim);
  }
  for (int i = 0; i < 28; ++i) proto.add_data(0.f);
  ExpectMeanFileRejected(proto, "4294967324");
}

// A mean file with more than 32 axes aborted through a CHECK.
TEST(DataTransformerTest, MeanFileWithTooManyAxesIsAnError) {
  caffe::BlobProto proto;
  for (int i = 0; i < 33; ++i) proto.mutable_shape()->add_dim(1);
  proto.add_data(0.f);
  ExpectMeanFileRejected(proto, "blob shape has 33 axes; at most 32 are supported");
}

TEST(DataTransformerTest, MeanFileAndMeanValueTogetherIsAnError) {
  TempDir dir;
  const std::string mean_path = dir.File("mean.binaryproto");
  WriteMean(mean_path, 1, 2, 2, 0);
  EXPECT_THROW(
      DataTransformer(Param("mean_value: 1 mean_file: '" + mean_path + "'"), caffe::TEST),
      Error);
}

caffe::Datum EncodedDatum() {
  // 1x2 BGR image: pixel 0 = (B 10, G 20, R 30), pixel 1 = (B 40, G 50, R 60).
  cv::Mat image(1, 2, CV_8UC3);
  image.at<cv::Vec3b>(0, 0) = cv::Vec3b(10, 20, 30);
  image.at<cv::Vec3b>(0, 1) = cv::Vec3b(40, 50, 60);
  std::vector<uchar> png;
  EXPECT_TRUE(cv::imencode(".png", image, png));
  caffe::Datum datum;
  datum.set_data(std::string(png.begin(), png.end()));
  datum.set_encoded(true);
  return datum;
}

TEST(DataTransformerTest, EncodedImageKeepsBgrOrder) {
  DataTransformer t(Param(""), caffe::TEST);
  caffe::Datum datum = EncodedDatum();
  EXPECT_EQ(t.InferShape(datum), (std::vector<int>{1, 3, 1, 2}));
  EXPECT_EQ(TransformAll(&t, datum), (std::vector<float>{10, 40, 20, 50, 30, 60}));
}

TEST(DataTransformerTest, ForceGrayDecodesOneChannel) {
  DataTransformer t(Param("force_gray: true"), caffe::TEST);
  caffe::Datum datum = EncodedDatum();
  EXPECT_EQ(t.InferShape(datum), (std::vector<int>{1, 1, 1, 2}));
}

// Found by the datum fuzzer: the element count overflowed 64 bits.
TEST(DataTransformerTest, DatumShapeBeyond64BitsIsAnError) {
  DataTransformer t(Param(""), caffe::TEST);
  caffe::Datum datum;
  datum.set_channels(2147483647);
  datum.set_height(2147483647);
  datum.set_width(2147483647);
  datum.set_data("x");
  EXPECT_THROW(t.InferShape(datum), Error);
}

// Found by the datum fuzzer: OpenCV threw on empty bytes, and the uncaught
// cv::Exception ended the process.
TEST(DataTransformerTest, EmptyEncodedImageIsAnError) {
  DataTransformer t(Param(""), caffe::TEST);
  caffe::Datum datum;
  datum.set_encoded(true);
  EXPECT_THROW(t.InferShape(datum), Error);
}

TEST(DataTransformerTest, UndecodableImageIsAnError) {
  DataTransformer t(Param(""), caffe::TEST);
  caffe::Datum datum;
  datum.set_data("definitely not an image");
  datum.set_encoded(true);
  EXPECT_THROW(t.InferShape(datum), Error);
}

}  // namespace
}  // namespace cortado
