// `cortado export`: the ONNX exporter (src/onnx_export.cpp) on the command line.
#include "export_command.hpp"

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "cortado/common.hpp"
#include "cortado/net.hpp"
#include "cortado/onnx_export.hpp"

DECLARE_string(model);
DECLARE_string(weights);
DECLARE_int32(level);
DECLARE_string(stage);
DEFINE_string(onnx, "", "'export': the ONNX file to write");
DECLARE_int32(batch);  // check_command.cpp

namespace cortado {
namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

}  // namespace

int ExportCommand() {
  if (FLAGS_model.empty()) ThrowError("export needs --model=<net.prototxt>");
  if (FLAGS_onnx.empty()) ThrowError("export needs --onnx=<out.onnx>");
  if (FLAGS_batch < 0) ThrowError("--batch=", FLAGS_batch, " must be positive (0: the model's)");
  Net net(FLAGS_model, caffe::TEST, FLAGS_level, Split(FLAGS_stage));
  // Without weights the file holds the net's initialised (filler) weights.
  if (!FLAGS_weights.empty()) {
    net.CopyTrainedLayersFrom(Split(FLAGS_weights), Net::MissingWeights::kError);
  }
  if (FLAGS_batch > 0) {
    for (Blob* input : net.input_blobs()) {
      std::vector<int> shape = input->shape();
      if (shape.empty()) ThrowError("--batch: input blob has no batch axis");
      shape[0] = FLAGS_batch;
      input->Reshape(shape);
    }
    net.Reshape();
  }
  ExportOnnx(net, FLAGS_onnx);
  std::printf("wrote %s (ONNX opset %d, %zu layers)\n", FLAGS_onnx.c_str(), kOnnxOpset,
              net.layers().size());
  return 0;
}

}  // namespace cortado
