// ArgMax's CUDA kernel; argmax_layer.cpp holds the layer and calls it.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

// The CPU's order: larger value first, and among equal values the larger
// index first. A total order, so the k-th pick is the best entry ranked
// below pick k - 1.
__device__ bool Ahead(float value_a, int index_a, float value_b, int index_b) {
  return value_a > value_b || (value_a == value_b && index_a > index_b);
}

// One thread per vector; top_k passes over it, each picking the next entry.
__global__ void ArgMaxKernel(int64_t vectors, int dim, int64_t inner, int top_k,
                             bool out_max_val, bool has_axis, const float* x, float* y) {
  CORTADO_KERNEL_LOOP(v, vectors) {
    const int64_t outer = v / inner, i = v % inner;
    const float* column = x + outer * dim * inner + i;
    float last_value = 0;
    int last_index = -1;
    for (int k = 0; k < top_k; ++k) {
      float best_value = 0;
      int best_index = -1;
      for (int j = 0; j < dim; ++j) {
        const float value = column[j * inner];
        if (last_index >= 0 && !Ahead(last_value, last_index, value, j)) continue;
        if (best_index < 0 || Ahead(value, j, best_value, best_index)) {
          best_value = value;
          best_index = j;
        }
      }
      last_value = best_value;
      last_index = best_index;
      if (has_axis) {
        y[(outer * top_k + k) * inner + i] =
            out_max_val ? best_value : static_cast<float>(best_index);
      } else if (out_max_val) {
        y[2 * v * top_k + k] = static_cast<float>(best_index);
        y[2 * v * top_k + top_k + k] = best_value;
      } else {
        y[v * top_k + k] = static_cast<float>(best_index);
      }
    }
  }
}

}  // namespace

void ArgMaxForwardGpu(int64_t vectors, int dim, int64_t inner, int top_k, bool out_max_val,
                      bool has_axis, const float* x, float* y) {
  if (vectors <= 0) return;
  ArgMaxKernel<<<cuda::BlocksFor(vectors), cuda::kThreadsPerBlock>>>(
      vectors, dim, inner, top_k, out_max_val, has_axis, x, y);
  cuda::CheckLaunch("ArgMaxKernel");
}

}  // namespace cortado
