// LaneSum: a sum over one row that the compiler can vectorise, in a fixed
// order.
#ifndef CORTADO_UTIL_LANE_SUM_HPP_
#define CORTADO_UTIL_LANE_SUM_HPP_

#include <cstdint>
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

}  // namespace cortado

#endif  // CORTADO_UTIL_LANE_SUM_HPP_
