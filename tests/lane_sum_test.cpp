// LaneSum's blocked float sums against double sums, term by term.
#include "../src/util/lane_sum.hpp"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace cortado {
namespace {

TEST(BlockedSums2, MatchDoubleSumsAtEverySizeAroundTheBlocks) {
  std::mt19937 random(3);
  std::normal_distribution<float> gaussian(2.f, 1.f);
  for (int64_t n : {0, 1, 7, 8, 9, 255, 256, 257, 263, 264, 1000, 12544}) {
    std::vector<float> a(n), b(n);
    for (float& v : a) v = gaussian(random);
    for (float& v : b) v = gaussian(random);
    double want_sum = 0, want_dot = 0;
    const int64_t whole = n / 8 * 8;  // BlockedSums2 sums whole groups of 8
    for (int64_t i = 0; i < whole; ++i) {
      want_sum += a[i];
      want_dot += double(a[i]) * b[i];
    }
    const auto [sum, dot] = BlockedSums2(n, [&](int64_t i, FloatLanes4* x, FloatLanes4* y) {
      *x = LoadFloatLanes4(a.data() + i);
      *y = *x * LoadFloatLanes4(b.data() + i);
    });
    // Each float lane sums at most 32 terms of about 2 (products about 4).
    EXPECT_NEAR(sum, want_sum, 1e-6 * (1 + std::abs(want_sum)) * 8) << n;
    EXPECT_NEAR(dot, want_dot, 1e-6 * (1 + std::abs(want_dot)) * 8) << n;
  }
}

TEST(BlockedSums2, SameBitsOnEveryCall) {
  std::vector<float> a(5000);
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(float(i)) * 1e3f;
  auto sums = [&] {
    return BlockedSums2(int64_t(a.size()), [&](int64_t i, FloatLanes4* x, FloatLanes4* y) {
      *x = LoadFloatLanes4(a.data() + i);
      *y = *x * *x;
    });
  };
  const auto first = sums();
  for (int k = 0; k < 3; ++k) EXPECT_EQ(sums(), first);
}

}  // namespace
}  // namespace cortado
