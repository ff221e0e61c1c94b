// LaneSum: a sum over one row that the compiler can vectorise, in a fixed
// order.
#ifndef CORTADO_UTIL_LANE_SUM_HPP_
#define CORTADO_UTIL_LANE_SUM_HPP_

#include <cstdint>
#include <cstring>
#include <utility>

namespace cortado {

// Sums term(i) for i in [0, n) in type Acc. A single running sum waits on
// every add (four cycles each), and the compiler may not reorder float adds;
// eight independent lanes (term i goes to lane i % 8 for the whole multiples
// of eight, the rest to a tail sum) fill vector registers instead, about 8x
// faster. The lanes are added in lane order and then the tail, so one input
// gives the same bits on every run and every thread count.
template <typename Acc, typename Term>
inline Acc LaneSum(int64_t n, Term term) {
  constexpr int kLanes = 8;
  Acc lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] += term(i + l);
  }
  Acc tail = 0;
  for (; i < n; ++i) tail += term(i);
  Acc total = 0;
  for (Acc lane : lanes) total += lane;
  return total + tail;
}

// Two sums over the same range in one pass, each in LaneSum's order:
// add(i, &a, &b) adds term i of each to the accumulators it is given.
template <typename Acc, typename Add>
inline std::pair<Acc, Acc> LaneSum2(int64_t n, Add add) {
  constexpr int kLanes = 8;
  Acc a[kLanes] = {}, b[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) add(i + l, &a[l], &b[l]);
  }
  Acc tail_a = 0, tail_b = 0;
  for (; i < n; ++i) add(i, &tail_a, &tail_b);
  Acc total_a = 0, total_b = 0;
  for (int l = 0; l < kLanes; ++l) {
    total_a += a[l];
    total_b += b[l];
  }
  return {total_a + tail_a, total_b + tail_b};
}

// Two sums over n floats that need double precision (BatchNorm's
// statistics) without converting each term to double, which made
// BatchNorm's forward and backward 1.6-1.9x slower: eight float lanes sum a
// block of 256 terms (32 per lane), then go into eight double lanes. The float lanes are GCC's and Clang's vector type, as the
// compiler did not vectorise them written as arrays. terms(i, &a, &b) sets
// the terms i..i+3 of each sum. The order is fixed, as in LaneSum.
typedef float FloatLanes4 __attribute__((vector_size(16)));

template <typename Terms>
inline std::pair<double, double> BlockedSums2(int64_t n, Terms terms) {
  constexpr int64_t kBlock = 256;
  double a[8] = {}, b[8] = {};
  // Adds terms [begin, end), a multiple of 8 long, to the double lanes.
  auto add_block = [&](int64_t begin, int64_t end) {
    FloatLanes4 a0 = {}, a1 = {}, b0 = {}, b1 = {};
    for (int64_t i = begin; i < end; i += 8) {
      FloatLanes4 ta, tb;
      terms(i, &ta, &tb);
      a0 += ta;
      b0 += tb;
      terms(i + 4, &ta, &tb);
      a1 += ta;
      b1 += tb;
    }
    for (int l = 0; l < 4; ++l) {
      a[l] += a0[l];
      a[l + 4] += a1[l];
      b[l] += b0[l];
      b[l + 4] += b1[l];
    }
  };
  const int64_t blocks_end = n / kBlock * kBlock;
  const int64_t whole_end = n / 8 * 8;
  for (int64_t i = 0; i < blocks_end; i += kBlock) add_block(i, i + kBlock);
  if (whole_end > blocks_end) add_block(blocks_end, whole_end);
  double total_a = 0, total_b = 0;
  for (int l = 0; l < 8; ++l) {
    total_a += a[l];
    total_b += b[l];
  }
  return {total_a, total_b};
}

// Four floats from p, which need not be aligned.
inline FloatLanes4 LoadFloatLanes4(const float* p) {
  FloatLanes4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace cortado

#endif  // CORTADO_UTIL_LANE_SUM_HPP_
