// Offset assignment for buffers with known lifetimes: the arithmetic a memory
// planner (and `cortado check`) uses to place many buffers in one arena.
#ifndef CORTADO_MEMORY_PLAN_HPP_
#define CORTADO_MEMORY_PLAN_HPP_

#include <cstdint>
#include <string>
#include <vector>

namespace cortado {

// One buffer to place. Steps are positions in the execution order (e.g.
// layer indices): the buffer is written at first_use and last read at
// last_use, inclusive, so two buffers may share bytes only when one's
// last_use is before the other's first_use.
struct BufferUse {
  std::string name;
  int64_t bytes = 0;
  int first_use = 0;
  int last_use = 0;
  // Index (into the request list) of an earlier buffer whose storage this
  // one reuses, as an in-place layer's top does its bottom's; -1 for none.
  // An alias must not be larger than its root; its lifetime extends the
  // root's.
  int alias_of = -1;
};

struct MemoryPlan {
  // Per request, where its storage starts in the arena (an alias shares its
  // root's offset).
  std::vector<int64_t> offsets;
  // The arena size: the end of the highest placed buffer.
  int64_t arena_bytes = 0;
  // The most bytes alive at any one step: a lower bound no assignment beats.
  int64_t live_peak_bytes = 0;
  // Every buffer's own storage, no reuse (aliases counted once).
  int64_t unplanned_bytes = 0;
};

// Places every buffer so that buffers alive at the same step never overlap.
// Greedy by size, largest first; each goes at the lowest offset that fits
// between already-placed buffers whose lifetimes intersect its own (the
// "greedy by size" heuristic of TFLite's and MegEngine's planners). Offsets
// are multiples of `alignment` bytes. Throws Error on a malformed request
// (negative size, last_use before first_use, an alias pointing forward or
// larger than its root).
MemoryPlan PlanMemory(const std::vector<BufferUse>& buffers, int64_t alignment = 64);

}  // namespace cortado

#endif  // CORTADO_MEMORY_PLAN_HPP_
