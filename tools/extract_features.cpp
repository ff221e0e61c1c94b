// extract_features: runs a trained net over its data and stores chosen blobs,
// one Datum (C x 1 x 1 float_data; C = the blob's per-item size) per item.
// Usage: extract_features WEIGHTS NET_PROTOTXT BLOB1[,BLOB2...] DB1[,DB2...]
//        NUM_MINI_BATCHES lmdb|leveldb [CPU]
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/db.hpp"
#include "cortado/net.hpp"

namespace cortado {
namespace {

constexpr int kCommitEvery = 1000;

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

caffe::DataParameter::DB ParseBackend(const std::string& name) {
  if (name == "lmdb") return caffe::DataParameter::LMDB;
  if (name == "leveldb") return caffe::DataParameter::LEVELDB;
  ThrowError("database type '", name, "' is not one of: lmdb, leveldb");
}

int Extract(int argc, char** argv) {
  const std::string weights = argv[1];
  const std::string model = argv[2];
  const std::vector<std::string> blob_names = SplitCommas(argv[3]);
  const std::vector<std::string> db_paths = SplitCommas(argv[4]);
  if (blob_names.size() != db_paths.size()) {
    ThrowError("got ", blob_names.size(), " blob names but ", db_paths.size(),
               " output databases; give one database per blob");
  }
  int batches = 0;
  try {
    size_t used = 0;
    batches = std::stoi(argv[5], &used);
    if (used != std::string(argv[5]).size()) batches = 0;
  } catch (const std::exception&) {
  }
  if (batches < 1) ThrowError("NUM_MINI_BATCHES must be a positive integer, got '", argv[5], "'");
  const caffe::DataParameter::DB backend = ParseBackend(argv[6]);
  if (argc > 7 && std::string(argv[7]) != "CPU") {
    ThrowError("device '", argv[7], "': extract_features runs on the CPU in this version");
  }

  Net net(model, caffe::TEST);
  net.CopyTrainedLayersFrom(weights, cortado::Net::MissingWeights::kError);
  std::vector<std::unique_ptr<Database>> dbs;
  std::vector<std::unique_ptr<DbTransaction>> txns;
  for (size_t i = 0; i < blob_names.size(); ++i) {
    if (!net.has_blob(blob_names[i])) {
      ThrowError(model, ": no blob named '", blob_names[i], "' in the TEST net");
    }
    dbs.push_back(OpenDatabase(backend, db_paths[i], Database::Mode::kNew));
    txns.push_back(dbs.back()->NewTransaction());
  }
  // Fusion must not elide, nor the planner recycle, a blob we are about to
  // read; the rest share one arena.
  net.KeepBlobs(blob_names);
  net.PlanMemoryUnlessRefused();
  LOG(INFO) << "Extracting features for " << batches << " batches";
  std::vector<int64_t> written(blob_names.size(), 0);
  for (int batch = 0; batch < batches; ++batch) {
    net.Forward();
    for (size_t i = 0; i < blob_names.size(); ++i) {
      const Blob* blob = net.blob_by_name(blob_names[i]);
      const int items = blob->num_axes() > 0 ? blob->shape(0) : 1;
      const int64_t dim = blob->count() / items;
      const float* data = blob->cpu_data();
      for (int n = 0; n < items; ++n) {
        caffe::Datum datum;
        datum.set_channels(static_cast<int>(dim));
        datum.set_height(1);
        datum.set_width(1);
        datum.mutable_float_data()->Add(data + n * dim, data + (n + 1) * dim);
        char key[16];
        std::snprintf(key, sizeof(key), "%010lld", static_cast<long long>(written[i]));
        txns[i]->Put(key, datum.SerializeAsString());
        if (++written[i] % kCommitEvery == 0) {
          txns[i]->Commit();
          txns[i] = dbs[i]->NewTransaction();
          LOG(INFO) << "Extracted features of " << written[i] << " items for blob "
                    << blob_names[i];
        }
      }
    }
  }
  for (size_t i = 0; i < blob_names.size(); ++i) {
    txns[i]->Commit();
    LOG(INFO) << "Extracted features of " << written[i] << " items for blob " << blob_names[i]
              << " into " << db_paths[i];
  }
  LOG(INFO) << "Successfully extracted the features!";
  return 0;
}

}  // namespace
}  // namespace cortado

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage(
      "stores blobs of a trained net, item by item, in databases of Datums\n"
      "usage: extract_features WEIGHTS NET_PROTOTXT BLOB1[,BLOB2,...] DB1[,DB2,...] "
      "NUM_MINI_BATCHES lmdb|leveldb [CPU]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  if (argc < 7 || argc > 9) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "tools/extract_features");
    return 1;
  }
  try {
    return cortado::Extract(argc, argv);
  } catch (const cortado::Error& e) {
    std::fprintf(stderr, "extract_features: error: %s\n", e.what());
    return 1;
  }
}
