// Swish's CUDA kernels: ElementwiseMap compiled for its functors.
#include "../util/elementwise_map.cuh"
#include "activation_math.hpp"

CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::SwishForwardOp);
CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::SwishBackwardOp);
