// Fuzzes the prototxt parser, the legacy upgrades and the net builder: any
// text must either build a net (and run it forward when it is small) or be
// rejected with an Error.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "cortado/upgrade.hpp"
#include "fuzz_common.hpp"

namespace cortado {
namespace fuzz {

std::string ValidSeed() {
  return R"(name: "seed"
layer { name: "data" type: "Input" top: "data"
        input_param { shape { dim: 2 dim: 3 dim: 9 dim: 9 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 stride: 2 pad: 1
                            weight_filler { type: "xavier" } } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool"
        pooling_param { pool: MAX kernel_size: 2 stride: 2 round_mode: CEIL } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip"
        inner_product_param { num_output: 5 } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
)";
}

namespace {

// Layers that read or write paths named in the prototxt, or start prefetch
// threads: they have their own targets (datum, caffemodel) and must not
// touch the fuzzing machine's files.
bool TouchesFiles(const caffe::NetParameter& param) {
  static const std::set<std::string> kFileLayers = {
      "Data", "ImageData", "HDF5Data", "HDF5Output", "WindowData", "Python"};
  for (const auto& layer : param.layer()) {
    if (kFileLayers.count(layer.type())) return true;
  }
  return false;
}

void BuildAndRun(const std::string& text) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "fuzz.prototxt", &param);
  UpgradeNetAsNeeded("fuzz.prototxt", &param);
  if (TouchesFiles(param)) return;
  Net net(param, "fuzz.prototxt");
  // Forward too when it is cheap: layers' Reshape and Forward see the shapes
  // the builder accepted.
  constexpr int64_t kMaxForwardElements = int64_t{1} << 16;
  int64_t elements = 0;
  for (const auto& blob : net.blobs()) elements += blob->count();
  if (elements <= kMaxForwardElements) net.Forward();
}

}  // namespace
}  // namespace fuzz
}  // namespace cortado

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    cortado::fuzz::BuildAndRun(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const cortado::Error&) {
    // A clean rejection is the expected outcome for most inputs.
  }
  return 0;
}
