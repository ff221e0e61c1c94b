// ImageData: reads images named in a list file ("path label" per line) with
// OpenCV, optionally resized and shuffled, and transforms them like Data.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
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

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  // Shapes follow the images: ForwardImpl reshapes to each batch's first image.
  void Reshape(const BlobVec& bottom, const BlobVec& top) override {}

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;

 private:
  void ReadList();
  // Loads line `index` as a raw (planar BGR or gray) Datum.
  void LoadImage(size_t index, caffe::Datum* datum) const;
  void Shuffle() { std::shuffle(lines_.begin(), lines_.end(), rng_); }

  caffe::ImageDataParameter param_;
  std::vector<std::pair<std::string, int>> lines_;
  size_t position_ = 0;
  int64_t consumed_ = 0;
  std::unique_ptr<DataTransformer> transformer_;
  std::mt19937 rng_;
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
    ThrowError(ErrorPrefix(), "cannot read image '", path, "' (line ", index + 1, " of ",
               param_.source(), param_.shuffle() ? " after shuffling" : "", ")");
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
  rng_.seed(GlobalRng()());
  ReadList();
  if (param_.shuffle()) Shuffle();
  if (param_.rand_skip() > 0) position_ = rng_() % param_.rand_skip() % lines_.size();
  transformer_ = std::make_unique<DataTransformer>(layer_param_.transform_param(), phase_);
  caffe::Datum datum;
  LoadImage(position_, &datum);
  std::vector<int> shape;
  try {
    shape = transformer_->InferShape(datum);
  } catch (const Error& e) {
    ThrowError(ErrorPrefix(), lines_[position_].first, ": ", e.what());
  }
  shape[0] = static_cast<int>(param_.batch_size());
  top[0]->Reshape(shape);
  if (top.size() > 1) top[1]->Reshape({static_cast<int>(param_.batch_size())});
}

void ImageDataLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const int batch = static_cast<int>(param_.batch_size());
  caffe::Datum datum;
  std::vector<int> shape;
  for (int i = 0; i < batch; ++i) {
    LoadImage(position_, &datum);
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
      ThrowError(ErrorPrefix(), lines_[position_].first, ": ", e.what());
    }
    if (top.size() > 1) top[1]->mutable_cpu_data()[i] = static_cast<float>(datum.label());
    if (++position_ == lines_.size()) {
      position_ = 0;
      if (param_.shuffle()) Shuffle();
    }
  }
  consumed_ += batch;
}

}  // namespace

CORTADO_REGISTER_LAYER(ImageData, ImageDataLayer)

}  // namespace cortado
