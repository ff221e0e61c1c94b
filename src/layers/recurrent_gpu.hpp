// Row-wise device helpers shared by the LSTM and RNN CUDA paths.
#ifndef CORTADO_LAYERS_RECURRENT_GPU_HPP_
#define CORTADO_LAYERS_RECURRENT_GPU_HPP_

#ifdef CORTADO_WITH_CUDA

#include <cstdint>

namespace cortado {

// y[r * cols + j] += bias[j] (device pointers). recurrent_gpu.cu.
void AddRowBiasGpu(int64_t rows, int64_t cols, const float* bias, float* y);
// y[r * cols + j] = scale[r] * x[r * cols + j]: the cont flags applied to
// each instance's state. recurrent_gpu.cu.
void ScaleRowsGpu(int64_t rows, int64_t cols, const float* scale, const float* x, float* y);

}  // namespace cortado

#endif  // CORTADO_WITH_CUDA

#endif  // CORTADO_LAYERS_RECURRENT_GPU_HPP_
