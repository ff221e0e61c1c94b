// convert_mnist: turns MNIST-format IDX image/label files into an LMDB of Datums.
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
#include "cortado/mnist_reader.hpp"

DEFINE_string(backend, "lmdb", "output database backend: lmdb (or leveldb)");

namespace cortado {
namespace {

constexpr int kCommitEvery = 1000;

caffe::DataParameter::DB ParseBackend(const std::string& name) {
  if (name == "lmdb") return caffe::DataParameter::LMDB;
  if (name == "leveldb") return caffe::DataParameter::LEVELDB;
  ThrowError("unknown --backend '", name, "'; expected lmdb or leveldb");
}

void ConvertMnist(const std::string& image_path, const std::string& label_path,
                  const std::string& db_path, caffe::DataParameter::DB backend) {
  MnistReader reader(image_path, label_path);

  // Bad input found halfway must not leave a readable partial database.
  NewDatabase db(backend, db_path);
  std::unique_ptr<DbTransaction> txn = db.get()->NewTransaction();

  caffe::Datum datum;
  std::string value;
  char key[16];
  for (uint32_t i = 0; reader.Next(&datum); ++i) {
    std::snprintf(key, sizeof(key), "%08u", i);
    datum.SerializeToString(&value);
    txn->Put(key, value);
    if ((i + 1) % kCommitEvery == 0) txn->Commit();
  }
  txn->Commit();
  txn.reset();
  db.Commit();
  std::cout << "convert_mnist: wrote " << reader.count() << " records (" << reader.rows()
            << "x" << reader.cols() << ") to " << db_path << "\n";
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
