// SumGpu's kernel: each block sums a grid-stride share in double and adds it
// to one device double.
#include "block_sum.cuh"
#include "cortado/cuda.hpp"
#include "device_sum.hpp"

namespace cortado {
namespace {

__global__ void SumKernel(int64_t n, const float* x, double* total) {
  double sum = 0;
  CORTADO_KERNEL_LOOP(i, n) { sum += x[i]; }
  sum = BlockSum(sum);
  if (threadIdx.x == 0) atomicAdd(total, sum);
}

}  // namespace

double SumGpu(int64_t n, const float* x) {
  if (n == 0) return 0;
  double* total = static_cast<double*>(cuda::Workspace(sizeof(double)));
  cuda::Check(cudaMemset(total, 0, sizeof(double)), "cudaMemset");
  // Few blocks: each adds its share with one atomic.
  const int blocks = cuda::BlocksFor(n) < 1024 ? cuda::BlocksFor(n) : 1024;
  SumKernel<<<blocks, cuda::kThreadsPerBlock>>>(n, x, total);
  cuda::CheckLaunch("SumKernel");
  double result = 0;
  cuda::Check(cudaMemcpy(&result, total, sizeof(double), cudaMemcpyDeviceToHost),
              "cudaMemcpy of a sum");
  return result;
}

}  // namespace cortado
