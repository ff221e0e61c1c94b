// compute_image_mean: the per-pixel mean of a database of Datums, written
// as a BlobProto (1 x C x H x W) for transform_param { mean_file }.
// Usage: compute_image_mean [--backend=lmdb] INPUT_DB [OUTPUT_FILE]
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/db.hpp"
#include "cortado/image_io.hpp"
#include "cortado/io.hpp"

DEFINE_string(backend, "lmdb", "database backend: lmdb or leveldb");

namespace cortado {
namespace {

caffe::DataParameter::DB ParseBackend(const std::string& name) {
  if (name == "lmdb") return caffe::DataParameter::LMDB;
  if (name == "leveldb") return caffe::DataParameter::LEVELDB;
  ThrowError("--backend=", name, " is not one of: lmdb, leveldb");
}

// The dims must be non-negative and multiply (without overflowing) to the
// number of values the Datum holds, or the mean would be read out of range.
void CheckDatumSize(const std::string& db_path, const std::string& key,
                    const caffe::Datum& datum, size_t size) {
  int64_t expected = 1;
  bool overflow = false;
  for (int64_t dim : {datum.channels(), datum.height(), datum.width()}) {
    if (dim < 0) {
      ThrowError(db_path, ": record '", PrintableKey(key), "' has a negative dimension (", datum.channels(),
                 "x", datum.height(), "x", datum.width(), ")");
    }
    if (dim != 0 && expected > std::numeric_limits<int64_t>::max() / dim) overflow = true;
    if (!overflow) expected *= dim;
  }
  if (overflow || expected != static_cast<int64_t>(size)) {
    ThrowError(db_path, ": record '", PrintableKey(key), "' is ", datum.channels(), "x", datum.height(), "x",
               datum.width(), overflow ? " (more values than 64 bits count)"
                                       : StrCat(" = ", expected, " values"),
               " but holds ", size);
  }
}

int ComputeMean(const std::string& db_path, const std::string& output) {
  auto db = OpenDatabase(ParseBackend(FLAGS_backend), db_path, Database::Mode::kRead);
  auto cursor = db->NewCursor();
  std::vector<double> sum;
  int channels = 0, height = 0, width = 0;
  int64_t count = 0;
  for (cursor->SeekToFirst(); cursor->valid(); cursor->Next()) {
    caffe::Datum stored;
    if (!stored.ParseFromString(cursor->value())) {
      ThrowError(db_path, ": record '", PrintableKey(cursor->key()), "' is not a Datum");
    }
    caffe::Datum datum;
    try {
      datum = DecodedDatum(stored);
    } catch (const Error& e) {
      ThrowError(db_path, ": record '", PrintableKey(cursor->key()), "': ", e.what());
    }
    const size_t size = datum.data().empty() ? datum.float_data_size() : datum.data().size();
    CheckDatumSize(db_path, cursor->key(), datum, size);
    if (count == 0) {
      channels = datum.channels();
      height = datum.height();
      width = datum.width();
      sum.assign(size, 0.0);
    } else if (datum.channels() != channels || datum.height() != height ||
               datum.width() != width || size != sum.size()) {
      ThrowError(db_path, ": record '", PrintableKey(cursor->key()), "' is ", datum.channels(), "x",
                 datum.height(), "x", datum.width(), " but the first is ", channels, "x", height,
                 "x", width, "; a mean needs images of one size");
    }
    if (!datum.data().empty()) {
      const std::string& bytes = datum.data();
      for (size_t i = 0; i < size; ++i) sum[i] += static_cast<uint8_t>(bytes[i]);
    } else {
      for (size_t i = 0; i < size; ++i) sum[i] += datum.float_data(static_cast<int>(i));
    }
    if (++count % 10000 == 0) LOG(INFO) << "Processed " << count << " files.";
  }
  if (count == 0) ThrowError(db_path, " holds no records");
  LOG(INFO) << "Processed " << count << " files.";
  caffe::BlobProto mean;
  mean.set_num(1);
  mean.set_channels(channels);
  mean.set_height(height);
  mean.set_width(width);
  for (double s : sum) mean.add_data(static_cast<float>(s / count));
  if (!output.empty()) {
    LOG(INFO) << "Write to " << output;
    WriteProtoToBinaryFile(mean, output);
  }
  const int64_t plane = int64_t(height) * width;  // the dims match the data: no overflow
  for (int c = 0; c < channels; ++c) {
    double total = 0;
    for (int64_t i = 0; i < plane; ++i) total += mean.data(static_cast<int>(c * plane + i));
    LOG(INFO) << "mean_value channel [" << c << "]: " << total / plane;
  }
  return 0;
}

}  // namespace
}  // namespace cortado

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage(
      "computes the mean image of a database of Datums\n"
      "usage: compute_image_mean [--backend=lmdb] INPUT_DB [OUTPUT_FILE]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  if (argc < 2 || argc > 3) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "tools/compute_image_mean");
    return 1;
  }
  try {
    return cortado::ComputeMean(argv[1], argc == 3 ? argv[2] : "");
  } catch (const cortado::Error& e) {
    std::fprintf(stderr, "compute_image_mean: error: %s\n", e.what());
    return 1;
  }
}
