// Fuzzes IDX reading as convert_mnist does it: any image/label file pair must
// either read to the end or be rejected with an Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/mnist_reader.hpp"
#include "fuzz_common.hpp"

namespace cortado {
namespace fuzz {
namespace {

void PutBigEndian(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

}  // namespace

// Input layout: byte 0 is n, the next 4n bytes are the label file and the
// rest the image file. A length in whole words keeps mutations aligned.
std::string ValidSeed() {
  constexpr uint32_t kCount = 2;
  std::string labels;
  PutBigEndian(&labels, MnistReader::kLabelMagic);
  PutBigEndian(&labels, kCount);
  labels += std::string("\x03\x07", 2);
  labels.resize(12, '\0');  // padded to whole words; trailing bytes are ignored
  std::string images;
  PutBigEndian(&images, MnistReader::kImageMagic);
  PutBigEndian(&images, kCount);
  PutBigEndian(&images, 3);
  PutBigEndian(&images, 2);
  for (int i = 0; i < 12; ++i) images.push_back(static_cast<char>(i * 20));
  return std::string(1, static_cast<char>(labels.size() / 4)) + labels + images;
}

}  // namespace fuzz
}  // namespace cortado

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t label_size = std::min<size_t>(size_t{data[0]} * 4, size - 1);
  const std::string labels(reinterpret_cast<const char*>(data + 1), label_size);
  const std::string images(reinterpret_cast<const char*>(data + 1 + label_size),
                           size - 1 - label_size);
  const std::string label_path = cortado::fuzz::WriteScratchFile(labels, ".labels");
  const std::string image_path = cortado::fuzz::WriteScratchFile(images, ".images");
  try {
    cortado::MnistReader reader(image_path, label_path);
    caffe::Datum datum;
    while (reader.Next(&datum)) {
    }
  } catch (const cortado::Error&) {
  }
  return 0;
}
