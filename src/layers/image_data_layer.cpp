// ImageData: reads images named in a list file ("path label" per line) with
// OpenCV, optionally resized and shuffled, and transforms them like Data.
// Each epoch's order is a function of the epoch and a seed drawn once at
// set-up (as in HDF5Data), so a resumed run seeks straight to any record, and
// data-parallel replicas, built with one random_seed, walk the same order and
// each take their share of every global batch.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cortado/data_transformer.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/rng.hpp"

namespace cortado {
namespace {

class ImageDataLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "ImageData"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int MinTopBlobs() const override { return 1; }
  int MaxTopBlobs() const override { return 2; }
  bool IsDataSource() const override { return true; }
  int64_t records_consumed() const override { return consumed_; }
  void SeekToRecord(int64_t record) override;
  void SetDataShard(int index, int count) override;

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  // Shapes follow the images: ForwardImpl reshapes to each batch's first image.
  void Reshape(const BlobVec& bottom, const BlobVec& top) override {}

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;

 private:
  void ReadList();
  // Loads lines_[index] as a raw (planar BGR or gray) Datum.
  void LoadImage(size_t index, caffe::Datum* datum) const;
  // Moves to global record `record` (at least 0).
  void Position(int64_t record);
  // Orders lines_ for epoch_: listed order, or shuffled by the epoch's seed.
  void OrderEpoch();
  // Steps to the next record, reordering when an epoch ends.
  void Advance();
  // Replica 0 keeps the transformer's generator; the others draw their own
  // crops and mirrors.
  void ReseedForShard();

  caffe::ImageDataParameter param_;
  std::vector<std::pair<std::string, int>> lines_;  // as listed
  uint32_t seed_ = 0;            // drawn from GlobalRng() at set-up
  size_t first_position_ = 0;    // where rand_skip puts record 0 in epoch 0
  int64_t epoch_ = 0;            // passes over the list so far
  std::vector<size_t> order_;    // indices into lines_, this epoch's order
  size_t position_ = 0;          // in order_
  int64_t consumed_ = 0;         // by all replicas: the global stream's position
  int shard_index_ = 0;
  int shard_count_ = 1;
  std::unique_ptr<DataTransformer> transformer_;
};

void ImageDataLayer::ReadList() {
  std::ifstream in(param_.source());
  if (!in) {
    ThrowError(ErrorPrefix(), "cannot open image list image_data_param.source '",
               param_.source(), "'");
  }
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    // The label follows the last space, so paths may contain spaces.
    const size_t space = line.find_last_of(' ');
    size_t parsed = 0;
    int label = 0;
    try {
      if (space == std::string::npos) throw std::invalid_argument("no label");
      label = std::stoi(line.substr(space + 1), &parsed);
    } catch (const std::exception&) {
      parsed = 0;
    }
    if (space == std::string::npos || parsed != line.size() - space - 1) {
      ThrowError(ErrorPrefix(), param_.source(), ":", line_number,
                 ": expected '<image path> <integer label>', got '", line, "'");
    }
    lines_.emplace_back(line.substr(0, space), label);
  }
  if (lines_.empty()) ThrowError(ErrorPrefix(), "image list '", param_.source(), "' is empty");
}

void ImageDataLayer::LoadImage(size_t index, caffe::Datum* datum) const {
  const std::string path = param_.root_folder() + lines_[index].first;
  cv::Mat image = cv::imread(path, param_.is_color() ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  if (image.empty()) {
    ThrowError(ErrorPrefix(), "cannot read image '", path, "' (entry ", index + 1, " of ",
               param_.source(), ")");
  }
  if (param_.new_height() > 0) {
    cv::Mat resized;
    cv::resize(image, resized,
               cv::Size(static_cast<int>(param_.new_width()),
                        static_cast<int>(param_.new_height())));
    image = resized;
  }
  // OpenCV's interleaved HWC (BGR) becomes the planar CHW a Datum holds.
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
  datum->set_label(lines_[index].second);
  datum->set_encoded(false);
}

void ImageDataLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  param_ = layer_param_.image_data_param();
  if (param_.source().empty()) ThrowError(ErrorPrefix(), "image_data_param.source is empty");
  if (param_.batch_size() == 0) ThrowError(ErrorPrefix(), "image_data_param.batch_size must be positive");
  if ((param_.new_height() > 0) != (param_.new_width() > 0)) {
    ThrowError(ErrorPrefix(), "image_data_param.new_height and new_width must be given together");
  }
  seed_ = static_cast<uint32_t>(GlobalRng()());
  ReadList();
  first_position_ = 0;
  if (param_.rand_skip() > 0) {
    first_position_ = std::mt19937(seed_)() % param_.rand_skip() % lines_.size();
  }
  Position(0);
  transformer_ = std::make_unique<DataTransformer>(layer_param_.transform_param(), phase_);
  ReseedForShard();  // in case SetDataShard came before set-up
  caffe::Datum datum;
  LoadImage(order_[position_], &datum);
  std::vector<int> shape;
  try {
    shape = transformer_->InferShape(datum);
  } catch (const Error& e) {
    ThrowError(ErrorPrefix(), lines_[order_[position_]].first, ": ", e.what());
  }
  shape[0] = static_cast<int>(param_.batch_size());
  top[0]->Reshape(shape);
  if (top.size() > 1) top[1]->Reshape({static_cast<int>(param_.batch_size())});
}

void ImageDataLayer::OrderEpoch() {
  order_.resize(lines_.size());
  std::iota(order_.begin(), order_.end(), size_t{0});
  if (param_.shuffle()) {
    std::seed_seq seq{seed_, static_cast<uint32_t>(epoch_), static_cast<uint32_t>(epoch_ >> 32)};
    std::mt19937 rng(seq);
    std::shuffle(order_.begin(), order_.end(), rng);
  }
}

void ImageDataLayer::Position(int64_t record) {
  const int64_t lines = static_cast<int64_t>(lines_.size());
  // Split first: first_position_ + record could overflow for a huge record.
  const int64_t offset = static_cast<int64_t>(first_position_) + record % lines;
  epoch_ = record / lines + offset / lines;
  position_ = static_cast<size_t>(offset % lines);
  consumed_ = record;
  OrderEpoch();
}

void ImageDataLayer::Advance() {
  if (++position_ == order_.size()) {
    position_ = 0;
    ++epoch_;
    OrderEpoch();
  }
}

void ImageDataLayer::SeekToRecord(int64_t record) {
  if (record < 0) ThrowError(ErrorPrefix(), "cannot seek to record ", record);
  Position(record);
}

void ImageDataLayer::SetDataShard(int index, int count) {
  CHECK_GE(index, 0);
  CHECK_LT(index, count);
  if (index == shard_index_ && count == shard_count_) return;
  // Between Forwards the layer sits at the start of the next global batch,
  // and the order is the same on every replica: only the share changes.
  shard_index_ = index;
  shard_count_ = count;
  if (transformer_) ReseedForShard();
}

void ImageDataLayer::ReseedForShard() {
  if (shard_index_ > 0) {
    transformer_->Reseed(ReplicaSeed(transformer_->seed(), shard_index_));
  }
}

void ImageDataLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const int batch = static_cast<int>(param_.batch_size());
  // Other replicas' shares are passed over without being read; epochs still
  // end (and reshuffle) where they would for one unsharded reader.
  for (int64_t i = 0; i < int64_t{shard_index_} * batch; ++i) Advance();
  caffe::Datum datum;
  std::vector<int> shape;
  for (int i = 0; i < batch; ++i) {
    const size_t line = order_[position_];
    LoadImage(line, &datum);
    try {
      std::vector<int> item = transformer_->InferShape(datum);
      item[0] = batch;
      if (i == 0) {
        // Images may differ in size between batches (not within one) when
        // they are not resized; the layers downstream reshape to follow.
        shape = item;
        top[0]->Reshape(shape);
      } else if (item != shape) {
        ThrowError("shape ", Blob(item).shape_string(), " differs from the batch's first image ",
                   Blob(shape).shape_string(), "; set new_height/new_width or batch_size: 1");
      }
      const int64_t item_count = top[0]->count(1);
      transformer_->Transform(datum, top[0]->mutable_cpu_data() + i * item_count);
    } catch (const Error& e) {
      ThrowError(ErrorPrefix(), lines_[line].first, ": ", e.what());
    }
    if (top.size() > 1) top[1]->mutable_cpu_data()[i] = static_cast<float>(datum.label());
    Advance();
  }
  for (int64_t i = 0; i < int64_t{shard_count_ - 1 - shard_index_} * batch; ++i) Advance();
  consumed_ += int64_t{shard_count_} * batch;
}

}  // namespace

CORTADO_REGISTER_LAYER(ImageData, ImageDataLayer)

}  // namespace cortado
