// ExportOnnx: writes a built TEST-phase Net as an ONNX model (opset 13).
#ifndef CORTADO_ONNX_EXPORT_HPP_
#define CORTADO_ONNX_EXPORT_HPP_

#include <string>

namespace cortado {

class Net;

// The ONNX opset the exporter writes.
constexpr int kOnnxOpset = 13;

// Serialises `net` (its layers, current blob shapes and parameter values) as
// an ONNX ModelProto and returns the bytes. Shapes are static: the net's
// current input shapes, batch included. Throws cortado::Error naming the layer
// and its type when a layer has no ONNX form (loss layers, data layers, ...).
std::string ExportOnnxBytes(const Net& net);

// ExportOnnxBytes written to `path`; throws cortado::Error when it cannot be.
void ExportOnnx(const Net& net, const std::string& path);

}  // namespace cortado

#endif  // CORTADO_ONNX_EXPORT_HPP_
