// Fuzzes Datum decoding (raw bytes, float_data, encoded images) through the
// data transformer: any record a database could hold must either transform
// or be rejected with an Error.
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

// The first input byte picks the transformation; the rest is the record.
caffe::TransformationParameter ParamsFromByte(uint8_t bits) {
  caffe::TransformationParameter param;
  if (bits & 1) param.set_mirror(true);
  if (bits & 2) param.set_crop_size(1 + (bits >> 5));  // 1..8
  if (bits & 4) param.set_scale(0.00390625f);
  if (bits & 8) param.add_mean_value(104.f);
  if (bits & 16) {
    for (float v : {104.f, 117.f, 123.f}) param.add_mean_value(v);
  }
  if ((bits & 0x60) == 0x20) param.set_force_color(true);
  if ((bits & 0x60) == 0x40) param.set_force_gray(true);
  return param;
}

}  // namespace

std::string ValidSeed() {
  caffe::Datum datum;
  datum.set_channels(3);
  datum.set_height(4);
  datum.set_width(5);
  std::string pixels(3 * 4 * 5, '\0');
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>(i * 11);
  datum.set_data(pixels);
  datum.set_label(7);
  return std::string(1, '\x23') + datum.SerializeAsString();
}

}  // namespace fuzz
}  // namespace cortado

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  caffe::Datum datum;
  if (!datum.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
  const caffe::TransformationParameter param = cortado::fuzz::ParamsFromByte(data[0]);
  for (caffe::Phase phase : {caffe::TRAIN, caffe::TEST}) {
    try {
      cortado::DataTransformer transformer(param, phase);
      const std::vector<int> shape = transformer.InferShape(datum);
      int64_t count = 1;
      for (int dim : shape) count *= dim;
      std::vector<float> out(static_cast<size_t>(count));
      transformer.Transform(datum, out.data());
    } catch (const cortado::Error&) {
    }
  }
  return 0;
}
