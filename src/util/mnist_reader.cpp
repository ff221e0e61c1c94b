// MNIST IDX reading: header checks and one Datum per image.
#include "cortado/mnist_reader.hpp"

#include <algorithm>

namespace cortado {

IdxFile::IdxFile(const std::string& path) : path_(path) {
  file_ = gzopen(path.c_str(), "rb");
  if (file_ == nullptr) ThrowError("cannot open ", path);
}

IdxFile::~IdxFile() { gzclose(file_); }

void IdxFile::Read(void* buffer, size_t size, const char* what) {
  int got = gzread(file_, buffer, static_cast<unsigned>(size));
  if (got < 0 || static_cast<size_t>(got) != size) {
    int errnum = 0;
    const char* message = gzerror(file_, &errnum);
    ThrowError(path_, ": truncated or unreadable while reading ", what,
               errnum != Z_OK ? StrCat(" (", message, ")") : std::string());
  }
}

uint32_t IdxFile::ReadUint32(const char* what) {
  unsigned char bytes[4];
  Read(bytes, 4, what);
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
         (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
}

MnistReader::MnistReader(const std::string& image_path, const std::string& label_path)
    : images_(image_path), labels_(label_path) {
  uint32_t magic = images_.ReadUint32("the magic number");
  if (magic != kImageMagic) {
    ThrowError(image_path, ": magic number ", magic, " is not ", kImageMagic,
               " (an IDX image file); are the image and label files swapped?");
  }
  magic = labels_.ReadUint32("the magic number");
  if (magic != kLabelMagic) {
    ThrowError(label_path, ": magic number ", magic, " is not ", kLabelMagic,
               " (an IDX label file)");
  }
  count_ = images_.ReadUint32("the image count");
  const uint32_t num_labels = labels_.ReadUint32("the label count");
  if (count_ != num_labels) {
    ThrowError(image_path, " holds ", count_, " images but ", label_path, " holds ",
               num_labels, " labels");
  }
  rows_ = images_.ReadUint32("the row count");
  cols_ = images_.ReadUint32("the column count");
  if (rows_ == 0 || cols_ == 0 || rows_ > kMaxSide || cols_ > kMaxSide) {
    ThrowError(image_path, ": implausible image size ", rows_, "x", cols_);
  }
}

bool MnistReader::Next(caffe::Datum* datum) {
  if (next_ == count_) return false;
  // Read in chunks, so a header promising 65536x65536 images in a short file
  // fails on the read instead of first allocating 4 GiB.
  constexpr size_t kChunk = size_t{1} << 20;
  const size_t size = static_cast<size_t>(rows_) * cols_;
  pixels_.clear();
  while (pixels_.size() < size) {
    const size_t done = pixels_.size();
    const size_t chunk = std::min(kChunk, size - done);
    pixels_.resize(done + chunk);
    images_.Read(&pixels_[done], chunk, "image pixels");
  }
  unsigned char label = 0;
  labels_.Read(&label, 1, "a label");
  datum->set_channels(1);
  datum->set_height(static_cast<int>(rows_));
  datum->set_width(static_cast<int>(cols_));
  datum->set_data(pixels_);
  datum->set_label(label);
  ++next_;
  return true;
}

}  // namespace cortado
