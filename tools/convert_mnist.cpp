// convert_mnist: turns MNIST-format IDX image/label files into an LMDB of Datums.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/db.hpp"

DEFINE_string(backend, "lmdb", "output database backend: lmdb (or leveldb)");

namespace cortado {
namespace {

constexpr uint32_t kImageMagic = 2051;
constexpr uint32_t kLabelMagic = 2049;
constexpr int kCommitEvery = 1000;

// Reads an IDX file, gzip-compressed or not: gzread passes plain files
// through unchanged, so the Debian package's .gz files and the classic
// uncompressed ones both work.
class IdxReader {
 public:
  explicit IdxReader(const std::string& path) : path_(path) {
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) ThrowError("cannot open ", path);
  }
  ~IdxReader() { gzclose(file_); }
  CORTADO_DISALLOW_COPY(IdxReader);

  void Read(void* buffer, size_t size, const char* what) {
    int got = gzread(file_, buffer, static_cast<unsigned>(size));
    if (got < 0 || static_cast<size_t>(got) != size) {
      int errnum = 0;
      const char* message = gzerror(file_, &errnum);
      ThrowError(path_, ": truncated or unreadable while reading ", what,
                 errnum != Z_OK ? StrCat(" (", message, ")") : std::string());
    }
  }

  // IDX header fields are big-endian 32-bit integers.
  uint32_t ReadUint32(const char* what) {
    unsigned char bytes[4];
    Read(bytes, 4, what);
    return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
           (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

caffe::DataParameter::DB ParseBackend(const std::string& name) {
  if (name == "lmdb") return caffe::DataParameter::LMDB;
  if (name == "leveldb") return caffe::DataParameter::LEVELDB;
  ThrowError("unknown --backend '", name, "'; expected lmdb or leveldb");
}

void ConvertMnist(const std::string& image_path, const std::string& label_path,
                  const std::string& db_path, caffe::DataParameter::DB backend) {
  IdxReader images(image_path);
  IdxReader labels(label_path);
  uint32_t magic = images.ReadUint32("the magic number");
  if (magic != kImageMagic) {
    ThrowError(image_path, ": magic number ", magic, " is not ", kImageMagic,
               " (an IDX image file); are the image and label files swapped?");
  }
  magic = labels.ReadUint32("the magic number");
  if (magic != kLabelMagic) {
    ThrowError(label_path, ": magic number ", magic, " is not ", kLabelMagic,
               " (an IDX label file)");
  }
  const uint32_t num_images = images.ReadUint32("the image count");
  const uint32_t num_labels = labels.ReadUint32("the label count");
  if (num_images != num_labels) {
    ThrowError(image_path, " holds ", num_images, " images but ", label_path,
               " holds ", num_labels, " labels");
  }
  const uint32_t rows = images.ReadUint32("the row count");
  const uint32_t cols = images.ReadUint32("the column count");
  if (rows == 0 || cols == 0 || rows > 65536 || cols > 65536) {
    ThrowError(image_path, ": implausible image size ", rows, "x", cols);
  }

  // Bad input found halfway must not leave a readable partial database.
  NewDatabase db(backend, db_path);
  std::unique_ptr<DbTransaction> txn = db.get()->NewTransaction();

  caffe::Datum datum;
  datum.set_channels(1);
  datum.set_height(static_cast<int>(rows));
  datum.set_width(static_cast<int>(cols));
  std::string pixels(static_cast<size_t>(rows) * cols, '\0');
  std::string value;
  char key[16];
  for (uint32_t i = 0; i < num_images; ++i) {
    images.Read(pixels.data(), pixels.size(), "image pixels");
    unsigned char label = 0;
    labels.Read(&label, 1, "a label");
    datum.set_data(pixels);
    datum.set_label(label);
    std::snprintf(key, sizeof(key), "%08u", i);
    datum.SerializeToString(&value);
    txn->Put(key, value);
    if ((i + 1) % kCommitEvery == 0) txn->Commit();
  }
  txn->Commit();
  txn.reset();
  db.Commit();
  std::cout << "convert_mnist: wrote " << num_images << " records (" << rows
            << "x" << cols << ") to " << db_path << "\n";
}

}  // namespace
}  // namespace cortado

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "Converts MNIST-format IDX files (optionally gzip-compressed) into a "
      "database of Datums.\nUsage: convert_mnist <images.idx3-ubyte[.gz]> "
      "<labels.idx1-ubyte[.gz]> <output_db> [--backend=lmdb]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc != 4) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "convert_mnist");
    return 1;
  }
  try {
    cortado::ConvertMnist(argv[1], argv[2], argv[3],
                          cortado::ParseBackend(FLAGS_backend));
  } catch (const cortado::Error& e) {
    std::cerr << "convert_mnist: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
