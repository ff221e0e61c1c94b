// Dropout's CUDA kernels: ElementwiseMap compiled for its functors.
#include "../util/elementwise_map.cuh"
#include "dropout_math.hpp"

CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::DropoutForwardOp);
CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::DropoutBackwardOp);
