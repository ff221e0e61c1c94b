// CUDA kernels of the ScaledTanh plugin layer; they run on the default
// stream, as Cortado's own kernels do.
#include "scaled_tanh_kernels.hpp"

#include <stdexcept>
#include <string>

#include <cuda_runtime.h>

namespace scaled_tanh {
namespace {

constexpr int kThreads = 256;

int Blocks(int64_t count) {
  const int64_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 4096 ? (blocks > 0 ? blocks : 1) : 4096);
}

void CheckLaunch(const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("ScaledTanh: ") + kernel + " failed: " +
                             cudaGetErrorString(status));
  }
}

__global__ void ForwardKernel(int64_t count, int channels, int64_t dim, const float* x,
                              const float* scale, float* y) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    y[i] = scale[(i / dim) % channels] * tanhf(x[i]);
  }
}

__global__ void BackwardKernel(int64_t count, int channels, int64_t dim, const float* dy,
                               const float* x, const float* scale, float* dx) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const float t = tanhf(x[i]);
    dx[i] = dy[i] * scale[(i / dim) % channels] * (1 - t * t);
  }
}

// One block per channel sums that channel's num x dim products.
__global__ void ScaleBackwardKernel(int64_t num, int channels, int64_t dim, const float* dy,
                                    const float* x, float* dscale) {
  __shared__ float partial[kThreads];
  const int c = blockIdx.x;
  float sum = 0;
  for (int64_t j = threadIdx.x; j < num * dim; j += blockDim.x) {
    const int64_t i = ((j / dim) * channels + c) * dim + j % dim;
    sum += dy[i] * tanhf(x[i]);
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) dscale[c] += partial[0];
}

}  // namespace

void ScaledTanhForwardGpu(int64_t count, int channels, int64_t dim, const float* x,
                          const float* scale, float* y) {
  ForwardKernel<<<Blocks(count), kThreads>>>(count, channels, dim, x, scale, y);
  CheckLaunch("forward kernel");
}

void ScaledTanhBackwardGpu(int64_t count, int channels, int64_t dim, const float* dy,
                           const float* x, const float* scale, float* dx) {
  BackwardKernel<<<Blocks(count), kThreads>>>(count, channels, dim, dy, x, scale, dx);
  CheckLaunch("backward kernel");
}

void ScaledTanhScaleBackwardGpu(int64_t num, int channels, int64_t dim, const float* dy,
                                const float* x, float* dscale) {
  ScaleBackwardKernel<<<channels, kThreads>>>(num, channels, dim, dy, x, dscale);
  CheckLaunch("scale gradient kernel");
}

}  // namespace scaled_tanh
