// The CUDA kernels of the neuron layers (neuron_layer.hpp): ElementwiseMap
// compiled for each formula's forward and backward functor.
#include "../util/elementwise_map.cuh"
#include "neuron_formulas.hpp"

#define CORTADO_NEURON_KERNELS(Formula)                                         \
  CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::NeuronForwardOp<::cortado::Formula>); \
  CORTADO_INSTANTIATE_ELEMENTWISE_MAP(::cortado::NeuronBackwardOp<::cortado::Formula>)

CORTADO_NEURON_KERNELS(AbsValFormula);
CORTADO_NEURON_KERNELS(BnllFormula);
CORTADO_NEURON_KERNELS(ClipFormula);
CORTADO_NEURON_KERNELS(EluFormula);
CORTADO_NEURON_KERNELS(ExpFormula);
CORTADO_NEURON_KERNELS(LogFormula);
CORTADO_NEURON_KERNELS(ReluFormula);
CORTADO_NEURON_KERNELS(SigmoidFormula);
CORTADO_NEURON_KERNELS(TanhFormula);
CORTADO_NEURON_KERNELS(ThresholdFormula);
