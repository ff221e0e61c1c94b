// A byte buffer that lives on the host and, in CUDA builds, on the device,
// copied lazily to whichever side asks for it last.
#ifndef CORTADO_SYNCED_MEMORY_HPP_
#define CORTADO_SYNCED_MEMORY_HPP_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "cortado/common.hpp"
#include "cortado/memory_arena.hpp"

namespace cortado {

class SyncedMemory {
 public:
  enum class Head { kUninitialized, kAtCpu, kAtGpu, kSynced };

  SyncedMemory() : version_(NextVersion()) {}
  explicit SyncedMemory(size_t size) : size_(size), version_(NextVersion()) {}
  // A view of `size` bytes at `offset` in a planned arena (see
  // net_memory_planner.hpp): it owns no memory, and other views may use the
  // same bytes at other times in a pass. Copies between host and device
  // move only this view's bytes.
  SyncedMemory(std::shared_ptr<MemoryArena> arena, size_t offset, size_t size);
  ~SyncedMemory();
  CORTADO_DISALLOW_COPY(SyncedMemory);

  const void* cpu_data();
  void* mutable_cpu_data();
  const void* gpu_data();
  void* mutable_gpu_data();

  size_t size() const { return size_; }
  bool is_arena_view() const { return arena_ != nullptr; }
  Head head() const { return head_; }
  // Changes whenever the contents may have changed: each mutable_* call takes
  // a fresh value. Values come from one process-wide counter, so a buffer
  // that replaced another (reallocation, ShareData) never repeats the old
  // one's version; a cache keyed by it (folded inference weights) is then
  // stale exactly when the version differs. Writes made later through an
  // old pointer are not seen: callers take a fresh pointer per write, as
  // layers and solvers do.
  uint64_t version() const { return version_; }

 private:
  void ToCpu();
  void ToGpu();
  static uint64_t NextVersion();

  void* AllocateCpu();
  void* AllocateGpu();

  std::shared_ptr<MemoryArena> arena_;  // set for a view
  size_t arena_offset_ = 0;
  void* cpu_ptr_ = nullptr;
  void* gpu_ptr_ = nullptr;
  size_t size_ = 0;
  Head head_ = Head::kUninitialized;
  uint64_t version_;
};

}  // namespace cortado

#endif  // CORTADO_SYNCED_MEMORY_HPP_
