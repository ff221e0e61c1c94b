// Greedy-by-size offset assignment over buffer lifetimes (see memory_plan.hpp).
#include "cortado/memory_plan.hpp"

#include <algorithm>
#include <map>
#include <numeric>

#include "cortado/common.hpp"

namespace cortado {
namespace {

int64_t RoundUp(int64_t value, int64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// A root buffer: the storage that a request and its aliases share.
struct Root {
  int64_t bytes = 0;
  int first = 0;
  int last = 0;
  int64_t offset = -1;
};

}  // namespace

MemoryPlan PlanMemory(const std::vector<BufferUse>& buffers, int64_t alignment) {
  if (alignment < 1) ThrowError("memory plan: alignment ", alignment, " must be positive");
  const int n = static_cast<int>(buffers.size());
  // Resolve aliases to roots; an alias's lifetime extends its root's.
  std::vector<int> root_of(n);
  std::map<int, Root> roots;
  MemoryPlan plan;
  for (int i = 0; i < n; ++i) {
    const BufferUse& b = buffers[i];
    if (b.bytes < 0) ThrowError("memory plan: buffer '", b.name, "' has negative size ", b.bytes);
    if (b.last_use < b.first_use) {
      ThrowError("memory plan: buffer '", b.name, "' is last used (step ", b.last_use,
                 ") before it is first used (step ", b.first_use, ")");
    }
    if (b.alias_of >= i) {
      ThrowError("memory plan: buffer '", b.name, "' aliases request ", b.alias_of,
                 ", which is not an earlier one");
    }
    if (b.alias_of < 0) {
      root_of[i] = i;
      roots[i] = Root{b.bytes, b.first_use, b.last_use, -1};
      plan.unplanned_bytes += b.bytes;
      continue;
    }
    root_of[i] = root_of[b.alias_of];
    Root& root = roots[root_of[i]];
    if (b.bytes > root.bytes) {
      ThrowError("memory plan: buffer '", b.name, "' (", b.bytes, " bytes) aliases '",
                 buffers[root_of[i]].name, "', which has only ", root.bytes);
    }
    root.first = std::min(root.first, b.first_use);
    root.last = std::max(root.last, b.last_use);
  }

  // Largest first; ties by first use, so equal plans come out the same.
  std::vector<int> order;
  for (const auto& entry : roots) order.push_back(entry.first);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (roots[a].bytes != roots[b].bytes) return roots[a].bytes > roots[b].bytes;
    return roots[a].first < roots[b].first;
  });
  std::vector<int> placed;
  for (int id : order) {
    Root& root = roots[id];
    // Intervals [offset, end) taken by placed buffers alive at the same time.
    std::vector<std::pair<int64_t, int64_t>> taken;
    for (int other_id : placed) {
      const Root& other = roots[other_id];
      if (other.last < root.first || root.last < other.first) continue;
      taken.push_back({other.offset, other.offset + other.bytes});
    }
    std::sort(taken.begin(), taken.end());
    // The lowest aligned gap that holds this buffer.
    int64_t offset = 0;
    for (const auto& interval : taken) {
      if (interval.first >= offset + root.bytes) break;
      offset = std::max(offset, RoundUp(interval.second, alignment));
    }
    root.offset = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + root.bytes);
    placed.push_back(id);
  }

  plan.offsets.resize(n);
  for (int i = 0; i < n; ++i) plan.offsets[i] = roots[root_of[i]].offset;

  // Bytes alive per step, by a sweep over the roots' lifetimes.
  std::map<int, int64_t> delta;
  for (const auto& entry : roots) {
    delta[entry.second.first] += entry.second.bytes;
    delta[entry.second.last + 1] -= entry.second.bytes;
  }
  int64_t live = 0;
  for (const auto& step : delta) {
    live += step.second;
    plan.live_peak_bytes = std::max(plan.live_peak_bytes, live);
  }
  return plan;
}

}  // namespace cortado
