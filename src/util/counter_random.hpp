// A counter-based random stream: element i of the stream named by `key` is a
// hash of (key, i). Any CPU or GPU thread computes its own elements, so the
// numbers do not depend on how the work is split or on the device.
#ifndef CORTADO_UTIL_COUNTER_RANDOM_HPP_
#define CORTADO_UTIL_COUNTER_RANDOM_HPP_

#include <cstdint>

#include "cortado/host_device.hpp"

namespace cortado {

// SplitMix64's output function (Steele, Lea and Flood, 2014) over the i-th
// step of a stream that starts at `key`; the high 32 bits.
CORTADO_HD inline uint32_t CounterRandom(uint64_t key, uint64_t i) {
  uint64_t z = key + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return static_cast<uint32_t>((z ^ (z >> 31)) >> 32);
}

// The threshold t with P(CounterRandom(...) < t) = p, for p in [0, 1].
inline uint64_t CounterRandomThreshold(float p) {
  return static_cast<uint64_t>(static_cast<double>(p) * 4294967296.0);
}

}  // namespace cortado

#endif  // CORTADO_UTIL_COUNTER_RANDOM_HPP_
