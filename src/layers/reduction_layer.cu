// Reduction's CUDA kernels; reduction_layer.cpp holds the layer and calls
// these. `op` is the ReductionParameter::ReductionOp value.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

constexpr int kAsum = 2, kSumSq = 3;  // SUM (1) and MEAN (4) sum the values

// One block per row, a shared-memory tree at the end.
__global__ void ReductionForwardKernel(int64_t rows, int64_t dim, int op, float coeff,
                                       const float* x, float* y) {
  __shared__ float partial[cuda::kThreadsPerBlock];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * dim;
    float sum = 0;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
      const float v = xr[i];
      sum += op == kAsum ? fabsf(v) : (op == kSumSq ? v * v : v);
    }
    const int tid = static_cast<int>(threadIdx.x);
    partial[tid] = sum;
    __syncthreads();
    for (int half = static_cast<int>(blockDim.x) / 2; half > 0; half /= 2) {
      if (tid < half) partial[tid] += partial[tid + half];
      __syncthreads();
    }
    if (tid == 0) y[r] = coeff * partial[0];
    __syncthreads();
  }
}

__global__ void ReductionBackwardKernel(int64_t n, int64_t dim, int op, float coeff,
                                        const float* x, const float* dy, float* dx) {
  CORTADO_KERNEL_LOOP(k, n) {
    const float g = coeff * dy[k / dim];
    if (op == kAsum) {
      dx[k] = x[k] > 0 ? g : (x[k] < 0 ? -g : 0.f);
    } else if (op == kSumSq) {
      dx[k] = 2.f * g * x[k];
    } else {
      dx[k] = g;
    }
  }
}

}  // namespace

void ReductionForwardGpu(int64_t rows, int64_t dim, int op, float coeff, const float* x,
                         float* y) {
  if (rows <= 0) return;
  const int blocks = static_cast<int>(rows < 65535 ? rows : 65535);
  ReductionForwardKernel<<<blocks, cuda::kThreadsPerBlock>>>(rows, dim, op, coeff, x, y);
  cuda::CheckLaunch("ReductionForwardKernel");
}

void ReductionBackwardGpu(int64_t rows, int64_t dim, int op, float coeff, const float* x,
                          const float* dy, float* dx) {
  const int64_t n = rows * dim;
  if (n <= 0) return;
  ReductionBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dim, op, coeff, x,
                                                                           dy, dx);
  cuda::CheckLaunch("ReductionBackwardKernel");
}

}  // namespace cortado
