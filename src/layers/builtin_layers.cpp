// The explicit, alphabetical list of built-in layer types. Each layer file
// defines its Register<Type>Layer() with CORTADO_REGISTER_LAYER; listing it
// here makes a missing layer a link error instead of a silently absent type.
#include "cortado/layer_registry.hpp"

namespace cortado {

// BEGIN LAYER LIST (keep alphabetical; one declaration and one call each)
void RegisterAbsValLayer();
void RegisterAccuracyLayer();
void RegisterArgMaxLayer();
void RegisterBNLLLayer();
void RegisterBatchNormLayer();
void RegisterBatchReindexLayer();
void RegisterBiasLayer();
void RegisterClipLayer();
void RegisterConcatLayer();
void RegisterContrastiveLossLayer();
void RegisterConvolutionLayer();
void RegisterCropLayer();
void RegisterDataLayer();
void RegisterDeconvolutionLayer();
void RegisterDetectionOutputLayer();
void RegisterDropoutLayer();
void RegisterDummyDataLayer();
void RegisterELULayer();
void RegisterEltwiseLayer();
void RegisterEmbedLayer();
void RegisterEuclideanLossLayer();
void RegisterExpLayer();
void RegisterFilterLayer();
void RegisterFlattenLayer();
void RegisterHDF5DataLayer();
void RegisterHDF5OutputLayer();
void RegisterHingeLossLayer();
void RegisterIm2colLayer();
void RegisterImageDataLayer();
void RegisterInfogainLossLayer();
void RegisterInnerProductLayer();
void RegisterInputLayer();
void RegisterInterpLayer();
void RegisterLRNLayer();
void RegisterLSTMLayer();
void RegisterLSTMUnitLayer();
void RegisterLogLayer();
void RegisterMVNLayer();
void RegisterMemoryDataLayer();
void RegisterMultinomialLogisticLossLayer();
void RegisterNormalizeLayer();
void RegisterPReLULayer();
void RegisterParameterLayer();
void RegisterPermuteLayer();
void RegisterPoolingLayer();
void RegisterPowerLayer();
void RegisterPriorBoxLayer();
#ifdef CORTADO_WITH_PYTHON
void RegisterPythonLayer();  // only in builds with Python
#endif
void RegisterRNNLayer();
void RegisterReLULayer();
void RegisterReductionLayer();
void RegisterReshapeLayer();
void RegisterSPPLayer();
void RegisterScaleLayer();
void RegisterShuffleChannelLayer();
void RegisterSigmoidLayer();
void RegisterSigmoidCrossEntropyLossLayer();
void RegisterSilenceLayer();
void RegisterSliceLayer();
void RegisterSoftmaxLayer();
void RegisterSoftmaxWithLossLayer();
void RegisterSplitLayer();
void RegisterSwishLayer();
void RegisterTanHLayer();
void RegisterThresholdLayer();
void RegisterTileLayer();
void RegisterUpsampleLayer();
void RegisterWindowDataLayer();
// END LAYER LIST

void RegisterBuiltinLayers() {
  // BEGIN LAYER CALLS
  RegisterAbsValLayer();
  RegisterAccuracyLayer();
  RegisterArgMaxLayer();
  RegisterBNLLLayer();
  RegisterBatchNormLayer();
  RegisterBatchReindexLayer();
  RegisterBiasLayer();
  RegisterClipLayer();
  RegisterConcatLayer();
  RegisterContrastiveLossLayer();
  RegisterConvolutionLayer();
  RegisterCropLayer();
  RegisterDataLayer();
  RegisterDeconvolutionLayer();
  RegisterDetectionOutputLayer();
  RegisterDropoutLayer();
  RegisterDummyDataLayer();
  RegisterELULayer();
  RegisterEltwiseLayer();
  RegisterEmbedLayer();
  RegisterEuclideanLossLayer();
  RegisterExpLayer();
  RegisterFilterLayer();
  RegisterFlattenLayer();
  RegisterHDF5DataLayer();
  RegisterHDF5OutputLayer();
  RegisterHingeLossLayer();
  RegisterIm2colLayer();
  RegisterImageDataLayer();
  RegisterInfogainLossLayer();
  RegisterInnerProductLayer();
  RegisterInputLayer();
  RegisterInterpLayer();
  RegisterLRNLayer();
  RegisterLSTMLayer();
  RegisterLSTMUnitLayer();
  RegisterLogLayer();
  RegisterMVNLayer();
  RegisterMemoryDataLayer();
  RegisterMultinomialLogisticLossLayer();
  RegisterNormalizeLayer();
  RegisterPReLULayer();
  RegisterParameterLayer();
  RegisterPermuteLayer();
  RegisterPoolingLayer();
  RegisterPowerLayer();
  RegisterPriorBoxLayer();
#ifdef CORTADO_WITH_PYTHON
  RegisterPythonLayer();
#endif
  RegisterRNNLayer();
  RegisterReLULayer();
  RegisterReductionLayer();
  RegisterReshapeLayer();
  RegisterSPPLayer();
  RegisterScaleLayer();
  RegisterShuffleChannelLayer();
  RegisterSigmoidLayer();
  RegisterSigmoidCrossEntropyLossLayer();
  RegisterSilenceLayer();
  RegisterSliceLayer();
  RegisterSoftmaxLayer();
  RegisterSoftmaxWithLossLayer();
  RegisterSplitLayer();
  RegisterSwishLayer();
  RegisterTanHLayer();
  RegisterThresholdLayer();
  RegisterTileLayer();
  RegisterUpsampleLayer();
  RegisterWindowDataLayer();
  // END LAYER CALLS
}

}  // namespace cortado
