// A byte buffer that lives on the host and, in CUDA builds, on the device,
// copied lazily to whichever side asks for it last.
#ifndef CORTADO_SYNCED_MEMORY_HPP_
#define CORTADO_SYNCED_MEMORY_HPP_

#include <cstddef>
#include <cstdint>

#include "cortado/common.hpp"

namespace cortado {

class SyncedMemory {
 public:
  enum class Head { kUninitialized, kAtCpu, kAtGpu, kSynced };

  SyncedMemory() : version_(NextVersion()) {}
  explicit SyncedMemory(size_t size) : size_(size), version_(NextVersion()) {}
  ~SyncedMemory();
  CORTADO_DISALLOW_COPY(SyncedMemory);

  const void* cpu_data();
  void* mutable_cpu_data();
  const void* gpu_data();
  void* mutable_gpu_data();

  size_t size() const { return size_; }
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

  void* cpu_ptr_ = nullptr;
  void* gpu_ptr_ = nullptr;
  size_t size_ = 0;
  Head head_ = Head::kUninitialized;
  uint64_t version_;
};

}  // namespace cortado

#endif  // CORTADO_SYNCED_MEMORY_HPP_
