// PlanMemory: buffers alive together never overlap, dead ones are reused,
// aliases share their root's storage, and bad requests are errors.
#include "cortado/memory_plan.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/common.hpp"

namespace cortado {
namespace {

// Every pair of roots alive at a common step occupies disjoint bytes.
void ExpectNoOverlap(const std::vector<BufferUse>& buffers, const MemoryPlan& plan) {
  ASSERT_EQ(plan.offsets.size(), buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i) {
    if (buffers[i].alias_of >= 0) continue;
    EXPECT_LE(plan.offsets[i] + buffers[i].bytes, plan.arena_bytes);
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      if (buffers[j].alias_of >= 0) continue;
      const bool live_together = !(buffers[i].last_use < buffers[j].first_use ||
                                   buffers[j].last_use < buffers[i].first_use);
      if (!live_together || buffers[i].bytes == 0 || buffers[j].bytes == 0) continue;
      const bool apart = plan.offsets[i] + buffers[i].bytes <= plan.offsets[j] ||
                         plan.offsets[j] + buffers[j].bytes <= plan.offsets[i];
      EXPECT_TRUE(apart) << buffers[i].name << " and " << buffers[j].name << " overlap";
    }
  }
}

TEST(MemoryPlanTest, ChainReusesDeadBuffers) {
  // a -> b -> c -> d: at most two are alive at once.
  const std::vector<BufferUse> chain = {
      {"a", 1000, 0, 1}, {"b", 1000, 1, 2}, {"c", 1000, 2, 3}, {"d", 1000, 3, 3}};
  const MemoryPlan plan = PlanMemory(chain, 8);
  ExpectNoOverlap(chain, plan);
  EXPECT_EQ(plan.unplanned_bytes, 4000);
  EXPECT_EQ(plan.live_peak_bytes, 2000);
  EXPECT_EQ(plan.arena_bytes, 2000);
  EXPECT_EQ(plan.offsets[0], plan.offsets[2]);
}

TEST(MemoryPlanTest, AliasesShareTheirRoot) {
  // conv writes x; an in-place ReLU makes y an alias of x; fc reads y.
  const std::vector<BufferUse> buffers = {
      {"x", 400, 0, 1}, {"y", 400, 1, 2, /*alias_of=*/0}, {"z", 40, 2, 2}};
  const MemoryPlan plan = PlanMemory(buffers, 4);
  ExpectNoOverlap(buffers, plan);
  EXPECT_EQ(plan.offsets[1], plan.offsets[0]);
  EXPECT_EQ(plan.unplanned_bytes, 440);
  EXPECT_EQ(plan.live_peak_bytes, 440);  // x lives on through y until step 2
  EXPECT_EQ(plan.arena_bytes, 440);
}

TEST(MemoryPlanTest, OffsetsAreAligned) {
  const std::vector<BufferUse> buffers = {{"a", 10, 0, 2}, {"b", 10, 0, 2}, {"c", 3, 1, 1}};
  const MemoryPlan plan = PlanMemory(buffers, 64);
  ExpectNoOverlap(buffers, plan);
  for (int64_t offset : plan.offsets) EXPECT_EQ(offset % 64, 0);
  EXPECT_EQ(plan.arena_bytes, 128 + 3);
}

TEST(MemoryPlanTest, RandomPlansAreValidAndNoWorseThanNoReuse) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferUse> buffers;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      BufferUse b;
      b.name = "b" + std::to_string(i);
      b.bytes = static_cast<int64_t>(rng() % 5000) * 64;
      b.first_use = static_cast<int>(rng() % 30);
      b.last_use = b.first_use + static_cast<int>(rng() % 8);
      if (i > 0 && rng() % 4 == 0) {
        b.alias_of = static_cast<int>(rng() % i);
        b.bytes = std::min(b.bytes, buffers[b.alias_of].bytes);
        int root = b.alias_of;
        while (buffers[root].alias_of >= 0) root = buffers[root].alias_of;
        b.bytes = std::min(b.bytes, buffers[root].bytes);
      }
      buffers.push_back(b);
    }
    const MemoryPlan plan = PlanMemory(buffers, 64);
    ExpectNoOverlap(buffers, plan);
    EXPECT_LE(plan.live_peak_bytes, plan.arena_bytes);
    EXPECT_LE(plan.arena_bytes, plan.unplanned_bytes);
  }
}

TEST(MemoryPlanTest, MalformedRequestsAreErrors) {
  EXPECT_THROW(PlanMemory({{"a", -1, 0, 0}}), Error);
  EXPECT_THROW(PlanMemory({{"a", 8, 3, 2}}), Error);
  EXPECT_THROW(PlanMemory({{"a", 8, 0, 1, /*alias_of=*/0}}), Error);
  EXPECT_THROW(PlanMemory({{"a", 8, 0, 1}, {"b", 16, 1, 2, 0}}), Error);
}

}  // namespace
}  // namespace cortado
