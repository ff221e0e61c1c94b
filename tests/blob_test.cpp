// Blob shapes, storage reuse, sharing and (de)serialisation in every dialect.
#include <cstring>

#include <gtest/gtest.h>

#include "cortado/blob.hpp"

namespace cortado {
namespace {

TEST(BlobTest, ShapeAndCounts) {
  Blob blob({2, 3, 4, 5});
  EXPECT_EQ(blob.count(), 120);
  EXPECT_EQ(blob.count(1), 60);
  EXPECT_EQ(blob.count(1, 3), 12);
  EXPECT_EQ(blob.shape(-1), 5);
  EXPECT_EQ(blob.num(), 2);
  EXPECT_EQ(blob.width(), 5);
  EXPECT_EQ(blob.offset(1, 2, 3, 4), 119);
  EXPECT_THROW(blob.CanonicalAxisIndex(4), Error);
  Blob flat({7});
  EXPECT_EQ(flat.channels(), 1);  // legacy accessors pad with 1
}

TEST(BlobTest, ReshapeKeepsStorageWhenItFits) {
  Blob blob({4, 4});
  const float* before = blob.cpu_data();
  blob.Reshape({2, 8});
  EXPECT_EQ(blob.cpu_data(), before);
  blob.Reshape({5, 5});
  EXPECT_EQ(blob.count(), 25);
}

TEST(BlobTest, WritesBumpTheDataVersion) {
  Blob blob({3});
  blob.mutable_cpu_data()[0] = 1;
  const uint64_t written = blob.data_memory()->version();
  blob.cpu_data();
  EXPECT_EQ(blob.data_memory()->version(), written);  // reading is not writing
  blob.mutable_cpu_data();
  EXPECT_GT(blob.data_memory()->version(), written);
}

TEST(BlobTest, UpdateSubtractsDiff) {
  Blob blob({3});
  for (int i = 0; i < 3; ++i) {
    blob.mutable_cpu_data()[i] = float(i);
    blob.mutable_cpu_diff()[i] = 0.5f;
  }
  blob.Update();
  EXPECT_FLOAT_EQ(blob.cpu_data()[2], 1.5f);
  EXPECT_FLOAT_EQ(blob.asum_diff(), 1.5f);
  EXPECT_FLOAT_EQ(blob.sumsq_data(), 0.25f + 0.25f + 2.25f);
}

TEST(BlobTest, ShareDataAliases) {
  Blob a({4}), b({4});
  b.ShareData(a);
  a.mutable_cpu_data()[3] = 9.f;
  EXPECT_EQ(b.cpu_data()[3], 9.f);
  EXPECT_NE(a.cpu_diff(), b.cpu_diff());
}

TEST(BlobTest, ProtoRoundTrip) {
  Blob blob({2, 3});
  for (int i = 0; i < 6; ++i) {
    blob.mutable_cpu_data()[i] = i * 0.5f;
    blob.mutable_cpu_diff()[i] = -i;
  }
  caffe::BlobProto proto;
  blob.ToProto(&proto, /*write_diff=*/true);
  Blob copy;
  copy.FromProto(proto);
  EXPECT_EQ(copy.shape(), blob.shape());
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(copy.cpu_data()[i], i * 0.5f);
    EXPECT_EQ(copy.cpu_diff()[i], -i);
  }
}

TEST(BlobTest, ReadsLegacyDimsDoubleAndNvcaffeRawData) {
  caffe::BlobProto legacy;
  legacy.set_num(1);
  legacy.set_channels(1);
  legacy.set_height(2);
  legacy.set_width(2);
  for (int i = 0; i < 4; ++i) legacy.add_double_data(i + 0.25);
  Blob target({2, 2});
  EXPECT_TRUE(target.ShapeEquals(legacy));  // 1x1x2x2 matches 2x2
  target.FromProto(legacy, /*reshape=*/false);
  EXPECT_FLOAT_EQ(target.cpu_data()[3], 3.25f);

  caffe::BlobProto raw;
  raw.mutable_shape()->add_dim(3);
  raw.set_raw_data_type(caffe::FLOAT16);
  const uint16_t halves[3] = {0x3C00, 0xC000, 0x3555};  // 1, -2, ~0.33325
  raw.set_raw_data(std::string(reinterpret_cast<const char*>(halves), sizeof(halves)));
  Blob half;
  half.FromProto(raw);
  EXPECT_FLOAT_EQ(half.cpu_data()[0], 1.f);
  EXPECT_FLOAT_EQ(half.cpu_data()[1], -2.f);
  EXPECT_NEAR(half.cpu_data()[2], 0.33325f, 1e-5);

  raw.set_raw_data_type(caffe::FLOAT);
  const float floats[3] = {1.5f, 2.5f, -3.5f};
  raw.set_raw_data(std::string(reinterpret_cast<const char*>(floats), sizeof(floats)));
  Blob full;
  full.FromProto(raw);
  EXPECT_EQ(full.cpu_data()[2], -3.5f);
}

TEST(BlobTest, WrongSizesAreErrors) {
  caffe::BlobProto proto;
  proto.mutable_shape()->add_dim(4);
  proto.add_data(1.f);
  Blob blob;
  EXPECT_THROW(blob.FromProto(proto), Error);
  Blob fixed({5});
  caffe::BlobProto good;
  good.mutable_shape()->add_dim(4);
  for (int i = 0; i < 4; ++i) good.add_data(1.f);
  EXPECT_THROW(fixed.FromProto(good, /*reshape=*/false), Error);
}

}  // namespace
}  // namespace cortado
