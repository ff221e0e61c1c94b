// convert_imageset: turns a list of image files with labels into a database
// of Datums.  Usage: convert_imageset [flags] ROOT/ LISTFILE DB_NAME
// Each LISTFILE line is "relative/path.jpg label"; the label is the last field.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gflags/gflags.h>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/db.hpp"
#include "cortado/image_io.hpp"

DEFINE_bool(gray, false, "read images as one gray channel");
DEFINE_bool(shuffle, false, "shuffle the list before converting (seeded, reproducible)");
DEFINE_string(backend, "lmdb", "database backend: lmdb or leveldb");
DEFINE_int32(resize_width, 0, "resize every image to this width (with resize_height)");
DEFINE_int32(resize_height, 0, "resize every image to this height (with resize_width)");
DEFINE_bool(check_size, false, "fail unless every image has the same shape");
DEFINE_bool(encoded, false, "store encoded image bytes instead of raw pixels");
DEFINE_string(encode_type, "", "with --encoded: png, jpg, ... (default: each file's own type)");

namespace cortado {
namespace {

constexpr int kCommitEvery = 1000;

caffe::DataParameter::DB ParseBackend(const std::string& name) {
  if (name == "lmdb") return caffe::DataParameter::LMDB;
  if (name == "leveldb") return caffe::DataParameter::LEVELDB;
  ThrowError("--backend=", name, " is not one of: lmdb, leveldb");
}

std::vector<std::pair<std::string, int>> ReadList(const std::string& path) {
  std::ifstream in(path);
  if (!in) ThrowError("cannot open list file '", path, "'");
  std::vector<std::pair<std::string, int>> lines;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    // The label is after the last space, so file names may contain spaces.
    const size_t space = line.find_last_of(' ');
    int label = 0;
    size_t used = 0;
    try {
      if (space == std::string::npos) throw std::invalid_argument("no label");
      label = std::stoi(line.substr(space + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (space == std::string::npos || used != line.size() - space - 1) {
      ThrowError(path, ":", number, ": expected \"<image path> <integer label>\", got \"", line,
                 "\"");
    }
    lines.emplace_back(line.substr(0, space), label);
  }
  if (lines.empty()) ThrowError("list file '", path, "' names no images");
  return lines;
}

int Convert(const std::string& root, const std::string& list_file, const std::string& db_path) {
  if ((FLAGS_resize_height > 0) != (FLAGS_resize_width > 0)) {
    ThrowError("give both --resize_height and --resize_width, or neither");
  }
  if (!FLAGS_encode_type.empty() && !FLAGS_encoded) {
    ThrowError("--encode_type needs --encoded");
  }
  auto lines = ReadList(list_file);
  if (FLAGS_shuffle) {
    std::mt19937 rng(1701);  // fixed: the same list always gives the same database
    std::shuffle(lines.begin(), lines.end(), rng);
  }
  LOG(INFO) << "A total of " << lines.size() << " images.";
  // Written under a temporary name: a failure halfway leaves no partial database.
  NewDatabase db(ParseBackend(FLAGS_backend), db_path);
  auto txn = db.get()->NewTransaction();
  ImageShape first_shape;
  int written = 0;
  int skipped = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string path = root + lines[i].first;
    std::string encoding = FLAGS_encode_type;
    if (FLAGS_encoded && encoding.empty()) {
      const size_t dot = path.find_last_of('.');
      encoding = dot == std::string::npos ? "png" : path.substr(dot + 1);
      std::transform(encoding.begin(), encoding.end(), encoding.begin(), ::tolower);
    }
    caffe::Datum datum;
    ImageShape shape;
    if (!ReadImageToDatum(path, lines[i].second, FLAGS_resize_height, FLAGS_resize_width,
                          !FLAGS_gray, FLAGS_encoded ? encoding : "", &datum, &shape)) {
      LOG(WARNING) << "Skipping unreadable image " << path;
      ++skipped;
      continue;
    }
    if (FLAGS_check_size) {
      if (written == 0) {
        first_shape = shape;
      } else if (!(shape == first_shape)) {
        ThrowError("--check_size: ", path, " is ", shape.channels, "x", shape.height, "x",
                   shape.width, " but the first image is ", first_shape.channels, "x",
                   first_shape.height, "x", first_shape.width);
      }
    }
    char key[16];
    std::snprintf(key, sizeof(key), "%08zu", i);
    txn->Put(std::string(key) + "_" + lines[i].first, datum.SerializeAsString());
    if (++written % kCommitEvery == 0) {
      txn->Commit();
      txn = db.get()->NewTransaction();
      LOG(INFO) << "Processed " << written << " files.";
    }
  }
  txn->Commit();
  LOG(INFO) << "Processed " << written << " files.";
  if (skipped > 0) LOG(WARNING) << "Skipped " << skipped << " unreadable images.";
  if (written == 0) ThrowError("none of the ", lines.size(), " images could be read");
  txn.reset();
  db.Commit();
  return 0;
}

}  // namespace
}  // namespace cortado

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage(
      "converts a set of images to a database of Datums\n"
      "usage: convert_imageset [flags] ROOTFOLDER/ LISTFILE DB_NAME\n"
      "LISTFILE lines are \"subfolder/file.jpg 7\"");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  if (argc != 4) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "tools/convert_imageset");
    return 1;
  }
  try {
    return cortado::Convert(argv[1], argv[2], argv[3]);
  } catch (const cortado::Error& e) {
    std::fprintf(stderr, "convert_imageset: error: %s\n", e.what());
    return 1;
  }
}
