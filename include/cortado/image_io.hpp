// Images to and from Datums for the data tools, through OpenCV. Pixels are
// kept in OpenCV's BGR order and stored channel-major, as Caffe stores them.
#ifndef CORTADO_IMAGE_IO_HPP_
#define CORTADO_IMAGE_IO_HPP_

#include <string>

#include <opencv2/core.hpp>

#include "caffe.pb.h"

namespace cortado {

struct ImageShape {
  int channels = 0;
  int height = 0;
  int width = 0;
  bool operator==(const ImageShape& o) const {
    return channels == o.channels && height == o.height && width == o.width;
  }
};

// Reads the image at path into datum with label. Resizes when height and
// width are both positive; is_color false reads one gray channel. With an
// `encoding` ("png", "jpg", ...) the datum holds encoded bytes: the file's
// own when nothing changed and its extension matches, else re-encoded.
// Returns false, leaving datum unspecified, if the file is missing or not an
// image OpenCV can decode; *shape receives the decoded image's shape.
bool ReadImageToDatum(const std::string& path, int label, int height, int width, bool is_color,
                      const std::string& encoding, caffe::Datum* datum, ImageShape* shape);

// The raw (channel-major uint8 or float) form of a datum, decoding it if it
// is encoded; throws Error if the bytes do not decode.
caffe::Datum DecodedDatum(const caffe::Datum& datum);

// Decodes image file bytes with OpenCV (cv::IMREAD_* flags). Returns an
// empty Mat for bytes that are empty or not an image: OpenCV throws for some
// corrupt files rather than returning empty, and callers report both alike.
cv::Mat DecodeImageBytes(const std::string& bytes, int flags);

}  // namespace cortado

#endif  // CORTADO_IMAGE_IO_HPP_
