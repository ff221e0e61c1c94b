// Fuzzes the mean-file reader: any .binaryproto must either give a mean the
// transformer subtracts or be rejected with an Error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/data_transformer.hpp"
#include "fuzz_common.hpp"

namespace cortado {
namespace fuzz {
namespace {

constexpr int kChannels = 3;
constexpr int kHeight = 4;
constexpr int kWidth = 4;

caffe::Datum Image() {
  caffe::Datum datum;
  datum.set_channels(kChannels);
  datum.set_height(kHeight);
  datum.set_width(kWidth);
  datum.set_data(std::string(kChannels * kHeight * kWidth, '\x40'));
  return datum;
}

}  // namespace

std::string ValidSeed() {
  caffe::BlobProto mean;
  for (int dim : {1, kChannels, kHeight, kWidth}) mean.mutable_shape()->add_dim(dim);
  for (int i = 0; i < kChannels * kHeight * kWidth; ++i) mean.add_data(0.5f * i);
  return mean.SerializeAsString();
}

}  // namespace fuzz
}  // namespace cortado

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const caffe::Datum image = cortado::fuzz::Image();
  caffe::TransformationParameter param;
  param.set_mean_file(cortado::fuzz::WriteScratchFile(data, size, ".binaryproto"));
  try {
    cortado::DataTransformer transformer(param, caffe::TEST);
    std::vector<float> out(image.channels() * image.height() * image.width());
    transformer.Transform(image, out.data());
  } catch (const cortado::Error&) {
  }
  return 0;
}
