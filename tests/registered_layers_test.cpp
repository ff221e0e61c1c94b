// Every BVLC Caffe layer type Cortado claims is registered, so a layer file
// left out of the build or of builtin_layers.cpp fails here by name.
#include <string>

#include <gtest/gtest.h>

#include "caffe.pb.h"
#include "cortado/layer_registry.hpp"
#include "cortado/upgrade.hpp"

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

TEST(RegisteredLayersTest, DataLayers) {
  ExpectRegistered({"Data", "DummyData", "HDF5Data", "ImageData", "Input", "MemoryData",
                    "WindowData"});
}

// Every type of BVLC's V1 layer enum, under its current name: none is
// excused.
TEST(RegisteredLayersTest, EveryV1LayerType) {
  const google::protobuf::EnumDescriptor* types = caffe::V1LayerParameter::LayerType_descriptor();
  int checked = 0;
  for (int i = 0; i < types->value_count(); ++i) {
    const auto type = static_cast<caffe::V1LayerParameter::LayerType>(types->value(i)->number());
    if (type == caffe::V1LayerParameter::NONE) continue;
    EXPECT_TRUE(LayerRegistry::Has(UpgradeV1LayerType(type))) << types->value(i)->name();
    ++checked;
  }
  EXPECT_GE(checked, 39);
}

TEST(RegisteredLayersTest, HdfAndRecurrentLayers) {
  ExpectRegistered({"HDF5Data", "HDF5Output", "LSTM", "LSTMUnit", "RNN"});
}

}  // namespace
}  // namespace cortado
