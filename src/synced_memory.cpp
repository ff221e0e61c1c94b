// Host/device buffer with lazy copies in whichever direction is asked for.
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

SyncedMemory::~SyncedMemory() {
  std::free(cpu_ptr_);
#ifdef CORTADO_WITH_CUDA
  if (gpu_ptr_) cudaFree(gpu_ptr_);
#endif
}

void SyncedMemory::ToCpu() {
  switch (head_) {
    case Head::kUninitialized:
      cpu_ptr_ = AllocateHost(size_);
      std::memset(cpu_ptr_, 0, size_);
      head_ = Head::kAtCpu;
      break;
    case Head::kAtGpu:
#ifdef CORTADO_WITH_CUDA
      if (!cpu_ptr_) cpu_ptr_ = AllocateHost(size_);
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
      CheckCuda(cudaMalloc(&gpu_ptr_, size_),
                StrCat("cudaMalloc of ", size_, " bytes for a blob"));
      CheckCuda(cudaMemset(gpu_ptr_, 0, size_), "cudaMemset");
      head_ = Head::kAtGpu;
      break;
    case Head::kAtCpu:
      if (!gpu_ptr_) {
        CheckCuda(cudaMalloc(&gpu_ptr_, size_),
                  StrCat("cudaMalloc of ", size_, " bytes for a blob"));
      }
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
