// Power's CUDA kernels: ElementwiseMap compiled for each form's functors.
#include "../util/elementwise_map.cuh"
#include "activation_math.hpp"

CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::PowerForwardOp<::cortado::PowerForm::kLinear>);
CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::PowerForwardOp<::cortado::PowerForm::kSquare>);
CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::PowerForwardOp<::cortado::PowerForm::kGeneral>);
CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::PowerBackwardOp<::cortado::PowerForm::kLinear>);
CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::PowerBackwardOp<::cortado::PowerForm::kSquare>);
CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::PowerBackwardOp<::cortado::PowerForm::kGeneral>);
