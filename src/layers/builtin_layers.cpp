// The explicit, alphabetical list of built-in layer types. Each layer file
// defines its Register<Type>Layer() with CORTADO_REGISTER_LAYER; listing it
// here makes a missing layer a link error instead of a silently absent type.
#include "cortado/layer_registry.hpp"

namespace cortado {

// BEGIN LAYER LIST (keep alphabetical; one declaration and one call each)
void RegisterAccuracyLayer();
void RegisterBatchNormLayer();
void RegisterBiasLayer();
void RegisterConcatLayer();
void RegisterConvolutionLayer();
void RegisterDataLayer();
void RegisterDropoutLayer();
void RegisterEltwiseLayer();
void RegisterFlattenLayer();
void RegisterInnerProductLayer();
void RegisterInputLayer();
void RegisterLRNLayer();
void RegisterPoolingLayer();
void RegisterReLULayer();
void RegisterReshapeLayer();
void RegisterScaleLayer();
void RegisterSigmoidLayer();
void RegisterSilenceLayer();
void RegisterSoftmaxLayer();
void RegisterSoftmaxWithLossLayer();
void RegisterSplitLayer();
void RegisterTanHLayer();
// END LAYER LIST

void RegisterBuiltinLayers() {
  // BEGIN LAYER CALLS
  RegisterAccuracyLayer();
  RegisterBatchNormLayer();
  RegisterBiasLayer();
  RegisterConcatLayer();
  RegisterConvolutionLayer();
  RegisterDataLayer();
  RegisterDropoutLayer();
  RegisterEltwiseLayer();
  RegisterFlattenLayer();
  RegisterInnerProductLayer();
  RegisterInputLayer();
  RegisterLRNLayer();
  RegisterPoolingLayer();
  RegisterReLULayer();
  RegisterReshapeLayer();
  RegisterScaleLayer();
  RegisterSigmoidLayer();
  RegisterSilenceLayer();
  RegisterSoftmaxLayer();
  RegisterSoftmaxWithLossLayer();
  RegisterSplitLayer();
  RegisterTanHLayer();
  // END LAYER CALLS
}

}  // namespace cortado
