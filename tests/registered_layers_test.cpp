// Every BVLC Caffe layer type Cortado claims is registered, so a layer file
// left out of the build or of builtin_layers.cpp fails here by name.
#include <string>

#include <gtest/gtest.h>

#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

void ExpectRegistered(std::initializer_list<const char*> types) {
  for (const char* type : types) EXPECT_TRUE(LayerRegistry::Has(type)) << type;
}

#ifdef CORTADO_WITH_PYTHON
// Built only with pybind11; python/tests/test_python_layer.py exercises it.
TEST(RegisteredLayersTest, PythonLayerInPythonBuilds) { ExpectRegistered({"Python"}); }
#endif

TEST(RegisteredLayersTest, NeuronLayers) {
  ExpectRegistered({"AbsVal", "BNLL", "Clip", "ELU", "Exp", "Log", "PReLU", "Power", "Swish",
                    "Threshold"});
}

TEST(RegisteredLayersTest, ShapeAndUtilityLayers) {
  ExpectRegistered({"ArgMax", "BatchReindex", "Crop", "Embed", "Filter", "MVN", "Parameter",
                    "Reduction", "Slice", "Tile"});
}

TEST(RegisteredLayersTest, LossLayers) {
  ExpectRegistered({"ContrastiveLoss", "EuclideanLoss", "HingeLoss", "InfogainLoss",
                    "MultinomialLogisticLoss", "SigmoidCrossEntropyLoss"});
}

// Layers of widely used forks (SSD, PSPNet, SegNet, ShuffleNet).
TEST(RegisteredLayersTest, ForkLayers) {
  ExpectRegistered({"DetectionOutput", "Interp", "Normalize", "Permute", "PriorBox",
                    "ShuffleChannel", "Upsample"});
}

TEST(RegisteredLayersTest, HdfAndRecurrentLayers) {
  ExpectRegistered({"HDF5Data", "HDF5Output", "LSTM", "LSTMUnit", "RNN"});
}

}  // namespace
}  // namespace cortado
