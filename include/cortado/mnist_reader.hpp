// Reads MNIST-format IDX image and label files (gzip-compressed or plain)
// as a stream of Datums; convert_mnist writes them to a database.
#ifndef CORTADO_MNIST_READER_HPP_
#define CORTADO_MNIST_READER_HPP_

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "caffe.pb.h"
#include "cortado/common.hpp"

namespace cortado {

// One IDX file. gzread passes plain files through unchanged, so the Debian
// package's .gz files and the classic uncompressed ones both work.
class IdxFile {
 public:
  explicit IdxFile(const std::string& path);
  ~IdxFile();
  CORTADO_DISALLOW_COPY(IdxFile);

  // Throws Error naming the file and `what` unless exactly size bytes came.
  void Read(void* buffer, size_t size, const char* what);
  // IDX header fields are big-endian 32-bit integers.
  uint32_t ReadUint32(const char* what);

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

// An image file and its label file, headers checked against each other on
// construction; Next() then yields one 1 x rows x cols Datum per image.
class MnistReader {
 public:
  static constexpr uint32_t kImageMagic = 2051;
  static constexpr uint32_t kLabelMagic = 2049;
  static constexpr uint32_t kMaxSide = 65536;

  MnistReader(const std::string& image_path, const std::string& label_path);

  uint32_t count() const { return count_; }
  uint32_t rows() const { return rows_; }
  uint32_t cols() const { return cols_; }
  // Fills datum with the next image and label; false after the last one.
  // A file that ends early is an Error naming it.
  bool Next(caffe::Datum* datum);

 private:
  IdxFile images_;
  IdxFile labels_;
  uint32_t count_ = 0;
  uint32_t rows_ = 0;
  uint32_t cols_ = 0;
  uint32_t next_ = 0;
  std::string pixels_;
};

}  // namespace cortado

#endif  // CORTADO_MNIST_READER_HPP_
