// Normalize's CUDA kernels; normalize_layer.cpp holds the layer and calls
// these. x is num x channels x spatial. A group is a sample (across_spatial)
// or one position's channel vector; group reductions run one block per
// group, scale gradients one block per scale.
#include "../util/block_sum.cuh"
#include "cortado/cuda.hpp"
#include "normalize_math.hpp"

namespace cortado {
namespace {

// Where the elements of group g lie: element k of it is at
// first + k * stride, for k < size.
struct GroupSpan {
  int64_t first, stride, size;
};

__device__ inline GroupSpan SpanOf(int64_t g, int channels, int64_t spatial,
                                   bool across_spatial) {
  if (across_spatial) return {g * channels * spatial, 1, channels * spatial};
  return {g / spatial * channels * spatial + g % spatial, spatial, channels};
}

__device__ inline int64_t GroupOf(int64_t i, int channels, int64_t spatial,
                                  bool across_spatial) {
  const int64_t n = i / (channels * spatial);
  return across_spatial ? n : n * spatial + i % spatial;
}

__device__ inline float ScaleAt(const float* scale, int scale_count, int64_t i, int channels,
                                int64_t spatial) {
  return scale[scale_count == 1 ? 0 : (i / spatial) % channels];
}

__global__ void NormalizeNormsKernel(int channels, int64_t spatial, bool across_spatial,
                                     float eps, const float* x, float* norms) {
  const GroupSpan span = SpanOf(blockIdx.x, channels, spatial, across_spatial);
  double sum = 0;
  for (int64_t k = threadIdx.x; k < span.size; k += blockDim.x) {
    const float v = x[span.first + k * span.stride];
    sum += double(v) * v;
  }
  sum = BlockSum(sum);
  if (threadIdx.x == 0) norms[blockIdx.x] = NormalizeNorm(sum, eps);
}

__global__ void NormalizeForwardKernel(int64_t count, int channels, int64_t spatial,
                                       bool across_spatial, const float* x, const float* scale,
                                       int scale_count, const float* norms, float* y) {
  CORTADO_KERNEL_LOOP(i, count) {
    y[i] = NormalizeValue(ScaleAt(scale, scale_count, i, channels, spatial), x[i],
                          norms[GroupOf(i, channels, spatial, across_spatial)]);
  }
}

// Per group: its sum a dy x, then dx for each of its elements.
__global__ void NormalizeBackwardKernel(int channels, int64_t spatial, bool across_spatial,
                                        const float* x, const float* dy, const float* scale,
                                        int scale_count, const float* norms, float* dx) {
  const GroupSpan span = SpanOf(blockIdx.x, channels, spatial, across_spatial);
  double dot = 0;
  for (int64_t k = threadIdx.x; k < span.size; k += blockDim.x) {
    const int64_t i = span.first + k * span.stride;
    dot += NormalizeDotTerm(ScaleAt(scale, scale_count, i, channels, spatial), dy[i], x[i]);
  }
  dot = BlockSum(dot);
  const double r = norms[blockIdx.x];
  for (int64_t k = threadIdx.x; k < span.size; k += blockDim.x) {
    const int64_t i = span.first + k * span.stride;
    dx[i] = NormalizeGradient(ScaleAt(scale, scale_count, i, channels, spatial), dy[i], x[i], r,
                              dot);
  }
}

// Block b sums channel b's terms (all elements for a shared scale).
__global__ void NormalizeScaleBackwardKernel(int num, int channels, int64_t spatial,
                                             bool across_spatial, const float* x,
                                             const float* dy, const float* norms,
                                             float* scale_diff) {
  const bool shared = gridDim.x == 1;
  const int64_t b = blockIdx.x;
  const int64_t size = shared ? int64_t(num) * channels * spatial : int64_t(num) * spatial;
  double sum = 0;
  for (int64_t k = threadIdx.x; k < size; k += blockDim.x) {
    const int64_t i = shared ? k : ((k / spatial) * channels + b) * spatial + k % spatial;
    sum += NormalizeScaleTerm(dy[i], x[i], norms[GroupOf(i, channels, spatial, across_spatial)]);
  }
  sum = BlockSum(sum);
  if (threadIdx.x == 0) scale_diff[b] += static_cast<float>(sum);
}

int64_t Groups(int num, int64_t spatial, bool across_spatial) {
  return across_spatial ? num : num * spatial;
}

}  // namespace

void NormalizeForwardGpu(int num, int channels, int64_t spatial, bool across_spatial,
                         float eps, const float* x, const float* scale, int scale_count,
                         float* norms, float* y) {
  const int64_t groups = Groups(num, spatial, across_spatial);
  const int64_t count = int64_t(num) * channels * spatial;
  if (count == 0) return;
  NormalizeNormsKernel<<<static_cast<unsigned>(groups), cuda::kThreadsPerBlock>>>(
      channels, spatial, across_spatial, eps, x, norms);
  cuda::CheckLaunch("NormalizeNormsKernel");
  NormalizeForwardKernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(
      count, channels, spatial, across_spatial, x, scale, scale_count, norms, y);
  cuda::CheckLaunch("NormalizeForwardKernel");
}

void NormalizeBackwardGpu(int num, int channels, int64_t spatial, bool across_spatial,
                          const float* x, const float* dy, const float* scale, int scale_count,
                          const float* norms, float* dx) {
  const int64_t groups = Groups(num, spatial, across_spatial);
  if (int64_t(num) * channels * spatial == 0) return;
  NormalizeBackwardKernel<<<static_cast<unsigned>(groups), cuda::kThreadsPerBlock>>>(
      channels, spatial, across_spatial, x, dy, scale, scale_count, norms, dx);
  cuda::CheckLaunch("NormalizeBackwardKernel");
}

void NormalizeScaleBackwardGpu(int num, int channels, int64_t spatial, bool across_spatial,
                               const float* x, const float* dy, const float* norms,
                               int scale_count, float* scale_diff) {
  if (int64_t(num) * channels * spatial == 0) return;
  NormalizeScaleBackwardKernel<<<scale_count, cuda::kThreadsPerBlock>>>(
      num, channels, spatial, across_spatial, x, dy, norms, scale_diff);
  cuda::CheckLaunch("NormalizeScaleBackwardKernel");
}

}  // namespace cortado
