// Parameter fillers: each one's defining property, checked on a real blob.
#include <cmath>

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "cortado/filler.hpp"
#include "cortado/rng.hpp"

namespace cortado {
namespace {

caffe::FillerParameter Filler(const std::string& text) {
  caffe::FillerParameter param;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &param)) << text;
  return param;
}

struct Stats {
  double mean = 0, stddev = 0, min = 1e30, max = -1e30;
};

Stats Measure(const Blob& blob) {
  Stats s;
  const float* d = blob.cpu_data();
  for (int64_t i = 0; i < blob.count(); ++i) {
    s.mean += d[i];
    s.min = std::min<double>(s.min, d[i]);
    s.max = std::max<double>(s.max, d[i]);
  }
  s.mean /= blob.count();
  for (int64_t i = 0; i < blob.count(); ++i) s.stddev += (d[i] - s.mean) * (d[i] - s.mean);
  s.stddev = std::sqrt(s.stddev / blob.count());
  return s;
}

TEST(FillerTest, Constant) {
  Blob blob({3, 4});
  FillBlob(Filler("type: 'constant' value: 2.5"), &blob);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(blob.cpu_data()[i], 2.5f);
}

TEST(FillerTest, UniformStaysInRange) {
  SetRandomSeed(1);
  Blob blob({100, 100});
  FillBlob(Filler("type: 'uniform' min: -0.5 max: 1.5"), &blob);
  Stats s = Measure(blob);
  EXPECT_GE(s.min, -0.5);
  EXPECT_LE(s.max, 1.5);
  EXPECT_NEAR(s.mean, 0.5, 0.02);
}

TEST(FillerTest, GaussianHasTheRequestedMoments) {
  SetRandomSeed(2);
  Blob blob({100, 100});
  FillBlob(Filler("type: 'gaussian' mean: 1 std: 0.5"), &blob);
  Stats s = Measure(blob);
  EXPECT_NEAR(s.mean, 1.0, 0.02);
  EXPECT_NEAR(s.stddev, 0.5, 0.02);
}

TEST(FillerTest, XavierBoundFollowsFanIn) {
  SetRandomSeed(3);
  Blob blob({50, 20, 5, 5});  // fan_in = 500
  FillBlob(Filler("type: 'xavier'"), &blob);
  Stats s = Measure(blob);
  const double bound = std::sqrt(3.0 / 500);
  EXPECT_LE(s.max, bound);
  EXPECT_GE(s.min, -bound);
  EXPECT_GT(s.max, 0.95 * bound);
  EXPECT_NEAR(s.stddev, bound / std::sqrt(3.0), 0.002);
}

TEST(FillerTest, MsraStddevFollowsFanOut) {
  SetRandomSeed(4);
  Blob blob({64, 40, 3, 3});  // fan_out = count / shape(1) = 576
  FillBlob(Filler("type: 'msra' variance_norm: FAN_OUT"), &blob);
  EXPECT_NEAR(Measure(blob).stddev, std::sqrt(2.0 / 576), 0.003);
}

TEST(FillerTest, PositiveUnitballRowsSumToOne) {
  SetRandomSeed(5);
  Blob blob({4, 3, 2, 2});
  FillBlob(Filler("type: 'positive_unitball'"), &blob);
  for (int n = 0; n < 4; ++n) {
    double sum = 0;
    for (int j = 0; j < 12; ++j) {
      EXPECT_GE(blob.cpu_data()[n * 12 + j], 0.f);
      sum += blob.cpu_data()[n * 12 + j];
    }
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

TEST(FillerTest, BilinearIsTheUpsamplingTent) {
  Blob blob({1, 1, 4, 4});
  FillBlob(Filler("type: 'bilinear'"), &blob);
  // k = 4: f = 2, c = 0.75; 1-D weights 0.25 0.75 0.75 0.25.
  const float w[4] = {0.25f, 0.75f, 0.75f, 0.25f};
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) EXPECT_FLOAT_EQ(blob.cpu_data()[y * 4 + x], w[y] * w[x]);
  }
}

TEST(FillerTest, UnknownTypeIsAnError) {
  Blob blob({2});
  try {
    FillBlob(Filler("type: 'zeros'"), &blob);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'zeros'"), std::string::npos);
  }
}

}  // namespace
}  // namespace cortado
