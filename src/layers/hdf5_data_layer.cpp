// HDF5Data: hands out batches of rows from the .h5 files listed in a text
// file. Each top reads the dataset named like the top; the first axis counts
// records. One file is held in memory at a time, as in BVLC Caffe. The
// order (shuffled or not) is a function of the epoch and a seed drawn once at
// set-up, so a resumed run can seek to any record and continue exactly as an
// uninterrupted run with the same random_seed would. A data-parallel
// replica walks the same order and takes its share of each global batch.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cortado/hdf5.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/rng.hpp"

namespace cortado {
namespace {

class Hdf5DataLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "HDF5Data"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int MinTopBlobs() const override { return 1; }
  bool IsDataSource() const override { return true; }
  int64_t records_consumed() const override { return consumed_; }
  void SeekToRecord(int64_t record) override;
  // The order depends only on the seed and the epoch, never on the share,
  // so every replica walks the same order; between Forwards each sits at
  // the start of the next global batch, so no repositioning is needed.
  void SetDataShard(int index, int count) override {
    CHECK_GE(index, 0);
    CHECK_LT(index, count);
    shard_index_ = index;
    shard_count_ = count;
  }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::HDF5DataParameter& p = layer_param_.hdf5_data_param();
    if (p.batch_size() == 0) {
      ThrowError(ErrorPrefix(), "hdf5_data_param.batch_size must be positive");
    }
    batch_size_ = static_cast<int>(p.batch_size());
    shuffle_ = p.shuffle();
    // Drawn only when shuffling, so unshuffled nets leave the global
    // generator (and every later layer's seed) as it was.
    if (shuffle_) seed_ = static_cast<uint32_t>(GlobalRng()());
    ReadFileList(p.source());
    file_rows_.assign(files_.size(), -1);
    epoch_ = 0;
    current_file_ = 0;
    consumed_ = 0;
    OrderFiles();
    record_shapes_.clear();
    LoadFile();
    // Every later file must match the first one's record shape.
    for (const auto& dataset : datasets_) {
      record_shapes_.emplace_back(dataset.shape().dim().begin() + 1, dataset.shape().dim().end());
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    for (size_t i = 0; i < top.size(); ++i) {
      std::vector<int> shape = {batch_size_};
      shape.insert(shape.end(), record_shapes_[i].begin(), record_shapes_[i].end());
      top[i]->Reshape(shape);
    }
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    SkipRows(int64_t{shard_index_} * batch_size_);
    for (int b = 0; b < batch_size_; ++b) {
      if (current_row_ == rows_) NextFile();
      const int64_t row = row_order_[current_row_];
      for (size_t i = 0; i < top.size(); ++i) {
        const int64_t width = top[i]->count(1);
        std::memcpy(top[i]->mutable_cpu_data() + b * width,
                    datasets_[i].data().data() + row * width, width * sizeof(float));
      }
      ++current_row_;
    }
    SkipRows(int64_t{shard_count_ - 1 - shard_index_} * batch_size_);
    consumed_ += int64_t{shard_count_} * batch_size_;
  }

 private:
  void ReadFileList(const std::string& source) {
    std::ifstream in(source);
    if (!in) ThrowError(ErrorPrefix(), "cannot open hdf5_data_param.source '", source, "'");
    files_.clear();
    std::string line;
    while (std::getline(in, line)) {
      const auto begin = line.find_first_not_of(" \t\r");
      if (begin == std::string::npos) continue;
      const auto end = line.find_last_not_of(" \t\r");
      files_.push_back(line.substr(begin, end - begin + 1));
    }
    if (files_.empty()) {
      ThrowError(ErrorPrefix(), "hdf5_data_param.source '", source, "' lists no files");
    }
  }

  // Passes over n rows (other replicas' shares) without copying them. Files
  // on the way are loaded as reading would load them, so NextFile alone keeps
  // the epoch's file and row orders; a file is loaded only to be skipped
  // when files are smaller than a global batch.
  void SkipRows(int64_t n) {
    while (n > 0) {
      if (current_row_ == rows_) NextFile();
      const int64_t step = std::min(n, rows_ - current_row_);
      current_row_ += step;
      n -= step;
    }
  }

  // A generator for one shuffle: of the file order of an epoch (file = -1) or
  // of the rows of the file at position `file` of that epoch's order.
  std::mt19937 ShuffleRng(int64_t file) const {
    std::seed_seq seq{seed_, static_cast<uint32_t>(epoch_), static_cast<uint32_t>(epoch_ >> 32),
                      static_cast<uint32_t>(file + 1)};
    return std::mt19937(seq);
  }

  void OrderFiles() {
    file_order_.resize(files_.size());
    std::iota(file_order_.begin(), file_order_.end(), 0);
    if (shuffle_) {
      std::mt19937 rng = ShuffleRng(-1);
      std::shuffle(file_order_.begin(), file_order_.end(), rng);
    }
  }

  void OrderRows() {
    row_order_.resize(rows_);
    std::iota(row_order_.begin(), row_order_.end(), 0);
    if (shuffle_) {
      std::mt19937 rng = ShuffleRng(static_cast<int64_t>(current_file_));
      std::shuffle(row_order_.begin(), row_order_.end(), rng);
    }
    current_row_ = 0;
  }

  // Reads one dataset per top of the file at current_file_ in this epoch's
  // order; all must have the same number of records.
  void LoadFile() {
    const size_t index = file_order_[current_file_];
    const std::string& path = files_[index];
    datasets_.assign(layer_param_.top_size(), caffe::BlobProto());
    for (int i = 0; i < layer_param_.top_size(); ++i) {
      const std::string& name = layer_param_.top(i);
      try {
        ReadHdf5Dataset(path, name, &datasets_[i]);
      } catch (const Error& e) {
        ThrowError(ErrorPrefix(), e.what());
      }
      const auto& dims = datasets_[i].shape().dim();
      if (dims.empty() || dims[0] == 0) {
        ThrowError(ErrorPrefix(), path, ": dataset '", name, "' holds no records");
      }
      if (i == 0) rows_ = dims[0];
      if (dims[0] != rows_) {
        ThrowError(ErrorPrefix(), path, ": dataset '", name, "' has ", dims[0],
                   " records but '", layer_param_.top(0), "' has ", rows_);
      }
      if (!record_shapes_.empty() &&
          !std::equal(dims.begin() + 1, dims.end(), record_shapes_[i].begin(),
                      record_shapes_[i].end())) {
        ThrowError(ErrorPrefix(), path, ": dataset '", name,
                   "' records are shaped differently from the first file's");
      }
    }
    file_rows_[index] = rows_;
    OrderRows();
  }

  void NextFile() {
    if (++current_file_ == files_.size()) {
      current_file_ = 0;
      ++epoch_;
      OrderFiles();
    }
    if (files_.size() == 1) {
      OrderRows();  // nothing to reload; a new epoch only reorders the rows
    } else {
      LoadFile();
    }
  }

  int batch_size_ = 0;
  bool shuffle_ = false;
  uint32_t seed_ = 0;
  std::vector<std::string> files_;
  std::vector<int64_t> file_rows_;  // records per file; -1 until read
  int64_t epoch_ = 0;               // passes over all files so far
  std::vector<size_t> file_order_;  // this epoch's order
  size_t current_file_ = 0;         // position in file_order_
  std::vector<caffe::BlobProto> datasets_;           // one per top, current file
  std::vector<std::vector<int>> record_shapes_;      // one per top, without axis 0
  std::vector<int64_t> row_order_;
  int64_t rows_ = 0;
  int64_t current_row_ = 0;
  int64_t consumed_ = 0;  // by all replicas: the global stream's position
  int shard_index_ = 0;
  int shard_count_ = 1;
};

void Hdf5DataLayer::SeekToRecord(int64_t record) {
  if (record < 0) ThrowError(ErrorPrefix(), "cannot seek to record ", record);
  // The epoch length needs every file's record count; files never loaded
  // are read once here (this runs on resume only).
  int64_t epoch_records = 0;
  for (size_t i = 0; i < files_.size(); ++i) {
    if (file_rows_[i] < 0) {
      caffe::BlobProto first;
      try {
        ReadHdf5Dataset(files_[i], layer_param_.top(0), &first);
      } catch (const Error& e) {
        ThrowError(ErrorPrefix(), e.what());
      }
      file_rows_[i] = first.shape().dim_size() > 0 ? first.shape().dim(0) : 0;
      if (file_rows_[i] == 0) {
        ThrowError(ErrorPrefix(), files_[i], ": dataset '", layer_param_.top(0),
                   "' holds no records");
      }
    }
    epoch_records += file_rows_[i];
  }
  epoch_ = record / epoch_records;
  int64_t offset = record % epoch_records;
  OrderFiles();
  current_file_ = 0;
  while (offset >= file_rows_[file_order_[current_file_]]) {
    offset -= file_rows_[file_order_[current_file_]];
    ++current_file_;
  }
  LoadFile();
  current_row_ = offset;
  consumed_ = record;
}

}  // namespace

CORTADO_REGISTER_LAYER(HDF5Data, Hdf5DataLayer)

}  // namespace cortado
