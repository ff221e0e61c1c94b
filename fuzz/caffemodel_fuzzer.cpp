// Fuzzes the .caffemodel loader: any bytes must either load into a small
// fixed net or be rejected with an Error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "fuzz_common.hpp"

namespace cortado {
namespace fuzz {
namespace {

// Layers with each kind of parameter the loaders treat specially: plain
// weights and biases, BatchNorm's statistics and Scale's learned factors.
constexpr char kNet[] = R"(name: "target"
layer { name: "data" type: "Input" top: "data"
        input_param { shape { dim: 1 dim: 3 dim: 6 dim: 6 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3
                            weight_filler { type: "gaussian" std: 0.1 } } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" }
layer { name: "scale" type: "Scale" bottom: "conv" top: "conv"
        scale_param { bias_term: true } }
layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip"
        inner_product_param { num_output: 3 } }
)";

Net& TargetNet() {
  static Net* net = [] {
    caffe::NetParameter param;
    ReadProtoFromTextString(kNet, "caffemodel_fuzzer", &param);
    return new Net(param, "caffemodel_fuzzer");
  }();
  return *net;
}

}  // namespace

std::string ValidSeed() {
  caffe::NetParameter weights;
  TargetNet().ToProto(&weights);
  return weights.SerializeAsString();
}

}  // namespace fuzz
}  // namespace cortado

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using cortado::Net;
  const std::string& path = cortado::fuzz::WriteScratchFile(data, size, ".caffemodel");
  // Both policies: fine-tuning tolerates missing layers, testing does not.
  for (auto missing : {Net::MissingWeights::kWarn, Net::MissingWeights::kError}) {
    try {
      cortado::fuzz::TargetNet().CopyTrainedLayersFrom(path, missing);
    } catch (const cortado::Error&) {
    }
  }
  return 0;
}
