// CUDA plumbing shared by every kernel file: status checks that throw
// cortado::Error, the per-thread cuBLAS/cuDNN handles and workspace, launch
// geometry and the grid-stride loop macro.
// Only CUDA builds include this (guard with CORTADO_WITH_CUDA).
#ifndef CORTADO_CUDA_HPP_
#define CORTADO_CUDA_HPP_

#ifndef CORTADO_WITH_CUDA
#error "cortado/cuda.hpp is for CUDA builds only"
#endif

#include <cstdint>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "cortado/common.hpp"
#include "cortado/host_device.hpp"

namespace cortado {
namespace cuda {

void Check(cudaError_t status, const char* what);
void Check(cublasStatus_t status, const char* what);
void Check(cudnnStatus_t status, const char* what);
// After a kernel launch: reports launch-configuration errors at once
// instead of at some later, unrelated call.
void CheckLaunch(const char* kernel);

// Handles for the thread's current device, created on first use. Work goes
// to the default stream, so ordering with cudaMemcpy is implicit.
cublasHandle_t CublasHandle();
cudnnHandle_t CudnnHandle();

// Scratch device memory shared by the layers of one thread (cuDNN
// workspaces, reduction buffers); grows, never shrinks. Valid until the next
// call on the same thread.
void* Workspace(size_t bytes);

constexpr int kThreadsPerBlock = 256;
// Grid size for a grid-stride loop over n elements; capped, since a
// grid-stride loop covers the rest.
inline int BlocksFor(int64_t n) {
  const int64_t blocks = (n + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<int>(blocks < 1 ? 1 : (blocks > 65535 ? 65535 : blocks));
}

}  // namespace cuda
}  // namespace cortado

#ifdef __CUDACC__
// for (int64_t i : ...) over a grid-stride range.
#define CORTADO_KERNEL_LOOP(i, n)                                              \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; \
       i < (n); i += static_cast<int64_t>(blockDim.x) * gridDim.x)
#endif

#endif  // CORTADO_CUDA_HPP_
