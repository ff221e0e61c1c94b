// The explicit, alphabetical list of built-in layer types. Each layer file
// defines its Register<Type>Layer() with CORTADO_REGISTER_LAYER; listing it
// here makes a missing layer a link error instead of a silently absent type.
#include "cortado/layer_registry.hpp"

namespace cortado {

// BEGIN LAYER LIST (keep alphabetical; one declaration and one call each)
void RegisterAbsValLayer();
void RegisterAccuracyLayer();
void RegisterBNLLLayer();
void RegisterBatchNormLayer();
void RegisterBiasLayer();
void RegisterClipLayer();
void RegisterConcatLayer();
void RegisterConvolutionLayer();
void RegisterDataLayer();
void RegisterDropoutLayer();
void RegisterELULayer();
void RegisterEltwiseLayer();
void RegisterExpLayer();
void RegisterFlattenLayer();
void RegisterInnerProductLayer();
void RegisterInputLayer();
void RegisterLRNLayer();
void RegisterLogLayer();
void RegisterPReLULayer();
void RegisterPoolingLayer();
void RegisterPowerLayer();
#ifdef CORTADO_WITH_PYTHON
void RegisterPythonLayer();  // only in builds with Python
#endif
void RegisterReLULayer();
void RegisterReshapeLayer();
void RegisterScaleLayer();
void RegisterSigmoidLayer();
void RegisterSilenceLayer();
void RegisterSoftmaxLayer();
void RegisterSoftmaxWithLossLayer();
void RegisterSplitLayer();
void RegisterSwishLayer();
void RegisterTanHLayer();
void RegisterThresholdLayer();
// END LAYER LIST

void RegisterBuiltinLayers() {
  // BEGIN LAYER CALLS
  RegisterAbsValLayer();
  RegisterAccuracyLayer();
  RegisterBNLLLayer();
  RegisterBatchNormLayer();
  RegisterBiasLayer();
  RegisterClipLayer();
  RegisterConcatLayer();
  RegisterConvolutionLayer();
  RegisterDataLayer();
  RegisterDropoutLayer();
  RegisterELULayer();
  RegisterEltwiseLayer();
  RegisterExpLayer();
  RegisterFlattenLayer();
  RegisterInnerProductLayer();
  RegisterInputLayer();
  RegisterLRNLayer();
  RegisterLogLayer();
  RegisterPReLULayer();
  RegisterPoolingLayer();
  RegisterPowerLayer();
#ifdef CORTADO_WITH_PYTHON
  RegisterPythonLayer();
#endif
  RegisterReLULayer();
  RegisterReshapeLayer();
  RegisterScaleLayer();
  RegisterSigmoidLayer();
  RegisterSilenceLayer();
  RegisterSoftmaxLayer();
  RegisterSoftmaxWithLossLayer();
  RegisterSplitLayer();
  RegisterSwishLayer();
  RegisterTanHLayer();
  RegisterThresholdLayer();
  // END LAYER CALLS
}

}  // namespace cortado
