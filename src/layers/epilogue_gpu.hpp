// The element-wise part of an Epilogue (addend, ReLU) on the device, for
// Convolution and InnerProduct. CUDA builds only.
#ifndef CORTADO_SRC_LAYERS_EPILOGUE_GPU_HPP_
#define CORTADO_SRC_LAYERS_EPILOGUE_GPU_HPP_

#include <cstdint>

#include "cortado/epilogue.hpp"

namespace cortado {

// y[i] = relu(y[i] + addend[i]) over `count` device values, as e.Apply does.
void ApplyEpilogueGpu(const Epilogue& e, int64_t count, float* y);

}  // namespace cortado

#endif  // CORTADO_SRC_LAYERS_EPILOGUE_GPU_HPP_
