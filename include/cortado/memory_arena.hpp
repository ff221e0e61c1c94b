// MemoryArena: one block of host (and, in CUDA builds, device) memory that
// the net's memory planner carves into blob storages (SyncedMemory views).
#ifndef CORTADO_MEMORY_ARENA_HPP_
#define CORTADO_MEMORY_ARENA_HPP_

#include <cstddef>

#include "cortado/common.hpp"

namespace cortado {

class MemoryArena {
 public:
  explicit MemoryArena(size_t bytes) : bytes_(bytes) {}
  ~MemoryArena();
  CORTADO_DISALLOW_COPY(MemoryArena);

  size_t bytes() const { return bytes_; }
  // Each side is allocated on first use, so an arena nobody touches (a net
  // that is only checked) costs nothing. Contents start undefined; a view
  // zeroes its own bytes the first time it is used, as SyncedMemory does.
  char* host();
  char* device();
  // Whether a side has been allocated (for memory reports and tests).
  bool host_allocated() const { return host_ != nullptr; }

 private:
  size_t bytes_;
  char* host_ = nullptr;
  char* device_ = nullptr;
};

}  // namespace cortado

#endif  // CORTADO_MEMORY_ARENA_HPP_
