// Host/device buffers with lazy copies in whichever direction is asked for,
// and the planned arena their views carve up.
#include "cortado/synced_memory.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#ifdef CORTADO_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace cortado {
namespace {

// 64-byte alignment keeps vector loads aligned for BLAS and our loops.
void* AllocateHost(size_t size) {
  void* ptr = nullptr;
  size_t rounded = (size + 63) / 64 * 64;
  // An Error rather than std::bad_alloc, so the message says how much; the
  // net adds which layer's blob it was.
  if (posix_memalign(&ptr, 64, rounded == 0 ? 64 : rounded) != 0) {
    ThrowError("could not allocate ", size, " bytes of host memory for a blob");
  }
  return ptr;
}

#ifdef CORTADO_WITH_CUDA
void CheckCuda(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess) {
    ThrowError("CUDA error in ", what, ": ", cudaGetErrorString(status));
  }
}
#endif

}  // namespace

uint64_t SyncedMemory::NextVersion() {
  static std::atomic<uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

SyncedMemory::SyncedMemory(std::shared_ptr<MemoryArena> arena, size_t offset, size_t size)
    : arena_(std::move(arena)), arena_offset_(offset), size_(size), version_(NextVersion()) {
  CHECK(arena_);
  CHECK_LE(offset + size, arena_->bytes());
}

SyncedMemory::~SyncedMemory() {
  if (arena_) return;  // the arena owns the bytes
  std::free(cpu_ptr_);
#ifdef CORTADO_WITH_CUDA
  if (gpu_ptr_) cudaFree(gpu_ptr_);
#endif
}

void* SyncedMemory::AllocateCpu() {
  return arena_ ? arena_->host() + arena_offset_ : AllocateHost(size_);
}

void* SyncedMemory::AllocateGpu() {
  if (arena_) return arena_->device() + arena_offset_;
  void* ptr = nullptr;
#ifdef CORTADO_WITH_CUDA
  CheckCuda(cudaMalloc(&ptr, size_), StrCat("cudaMalloc of ", size_, " bytes for a blob"));
#endif
  return ptr;
}

MemoryArena::~MemoryArena() {
  std::free(host_);
#ifdef CORTADO_WITH_CUDA
  if (device_) cudaFree(device_);
#endif
}

char* MemoryArena::host() {
  if (!host_) host_ = static_cast<char*>(AllocateHost(bytes_));
  return host_;
}

char* MemoryArena::device() {
#ifdef CORTADO_WITH_CUDA
  if (!device_) {
    void* ptr = nullptr;
    CheckCuda(cudaMalloc(&ptr, bytes_ == 0 ? 1 : bytes_),
              StrCat("cudaMalloc of ", bytes_, " bytes for the planned blob arena"));
    device_ = static_cast<char*>(ptr);
  }
  return device_;
#else
  ThrowError("this build of Cortado has no CUDA support");
#endif
}

void SyncedMemory::ToCpu() {
  switch (head_) {
    case Head::kUninitialized:
      cpu_ptr_ = AllocateCpu();
      std::memset(cpu_ptr_, 0, size_);
      head_ = Head::kAtCpu;
      break;
    case Head::kAtGpu:
#ifdef CORTADO_WITH_CUDA
      if (!cpu_ptr_) cpu_ptr_ = AllocateCpu();
      CheckCuda(cudaMemcpy(cpu_ptr_, gpu_ptr_, size_, cudaMemcpyDeviceToHost),
                "device-to-host copy");
      head_ = Head::kSynced;
#endif
      break;
    case Head::kAtCpu:
    case Head::kSynced:
      break;
  }
}

void SyncedMemory::ToGpu() {
#ifdef CORTADO_WITH_CUDA
  switch (head_) {
    case Head::kUninitialized:
      gpu_ptr_ = AllocateGpu();
      CheckCuda(cudaMemset(gpu_ptr_, 0, size_), "cudaMemset");
      head_ = Head::kAtGpu;
      break;
    case Head::kAtCpu:
      if (!gpu_ptr_) gpu_ptr_ = AllocateGpu();
      CheckCuda(cudaMemcpy(gpu_ptr_, cpu_ptr_, size_, cudaMemcpyHostToDevice),
                "host-to-device copy");
      head_ = Head::kSynced;
      break;
    case Head::kAtGpu:
    case Head::kSynced:
      break;
  }
#else
  ThrowError("this build of Cortado has no CUDA support (built with CORTADO_CUDA=OFF "
             "or without a CUDA toolkit)");
#endif
}

const void* SyncedMemory::cpu_data() {
  ToCpu();
  return cpu_ptr_;
}

void* SyncedMemory::mutable_cpu_data() {
  ToCpu();
  head_ = Head::kAtCpu;
  version_ = NextVersion();
  return cpu_ptr_;
}

const void* SyncedMemory::gpu_data() {
  ToGpu();
  return gpu_ptr_;
}

void* SyncedMemory::mutable_gpu_data() {
  ToGpu();
  head_ = Head::kAtGpu;
  version_ = NextVersion();
  return gpu_ptr_;
}

}  // namespace cortado
