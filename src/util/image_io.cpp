// Image files to Datums (raw or encoded) and encoded Datums back to raw.
#include "cortado/image_io.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cortado/common.hpp"

namespace cortado {
namespace {

std::string LowerExtension(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || path.find('/', dot) != std::string::npos) return "";
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

// Stores an 8-bit image channel-major, as Caffe's raw datums are.
void MatToRawDatum(const cv::Mat& image, caffe::Datum* datum) {
  const int channels = image.channels();
  const int plane = image.rows * image.cols;
  std::string bytes(static_cast<size_t>(plane) * channels, '\0');
  for (int h = 0; h < image.rows; ++h) {
    const uint8_t* row = image.ptr<uint8_t>(h);
    for (int w = 0; w < image.cols; ++w) {
      for (int c = 0; c < channels; ++c) {
        bytes[c * plane + h * image.cols + w] = static_cast<char>(row[w * channels + c]);
      }
    }
  }
  datum->set_channels(channels);
  datum->set_height(image.rows);
  datum->set_width(image.cols);
  datum->set_data(std::move(bytes));
  datum->set_encoded(false);
}

}  // namespace

cv::Mat DecodeImageBytes(const std::string& bytes, int flags) {
  if (bytes.empty()) return cv::Mat();
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1,
                    const_cast<char*>(bytes.data()));
  try {
    return cv::imdecode(raw, flags);
  } catch (const cv::Exception&) {
    return cv::Mat();
  }
}

bool ReadImageToDatum(const std::string& path, int label, int height, int width, bool is_color,
                      const std::string& encoding, caffe::Datum* datum, ImageShape* shape) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::ostringstream contents;
  contents << file.rdbuf();
  const std::string bytes = contents.str();
  cv::Mat image = DecodeImageBytes(bytes, is_color ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  if (image.empty()) return false;
  const bool resize = height > 0 && width > 0;
  if (resize && (image.rows != height || image.cols != width)) {
    cv::Mat resized;
    cv::resize(image, resized, cv::Size(width, height));
    image = resized;
  }
  shape->channels = image.channels();
  shape->height = image.rows;
  shape->width = image.cols;
  datum->Clear();
  datum->set_label(label);
  if (encoding.empty()) {
    MatToRawDatum(image, datum);
    return true;
  }
  // The file's own bytes are kept when they already hold exactly this image.
  const bool file_channels_match = DecodeImageBytes(bytes, cv::IMREAD_UNCHANGED).channels() ==
                                   image.channels();
  if (!resize && file_channels_match && LowerExtension(path) == encoding) {
    datum->set_data(bytes);
  } else {
    std::vector<uchar> encoded;
    if (!cv::imencode("." + encoding, image, encoded)) {
      ThrowError("cannot encode '", path, "' as ", encoding,
                 " (OpenCV has no encoder for that type)");
    }
    datum->set_data(std::string(encoded.begin(), encoded.end()));
  }
  datum->set_encoded(true);
  return true;
}

caffe::Datum DecodedDatum(const caffe::Datum& datum) {
  if (!datum.encoded()) return datum;
  const std::string& bytes = datum.data();
  const cv::Mat image = DecodeImageBytes(bytes, cv::IMREAD_UNCHANGED);
  if (image.empty() || image.depth() != CV_8U) {
    ThrowError("an encoded datum (", bytes.size(), " bytes) does not decode to an 8-bit image");
  }
  caffe::Datum out;
  out.set_label(datum.label());
  MatToRawDatum(image, &out);
  return out;
}

}  // namespace cortado
