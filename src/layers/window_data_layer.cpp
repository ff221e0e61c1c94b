// WindowData: R-CNN-style training batches of image windows. A window file
// lists images and, per image, candidate boxes with their class and overlap
// with the ground truth; each batch draws background windows (overlap below
// bg_threshold, label 0) and a fg_fraction of foreground windows (overlap at
// least fg_threshold, their class), each cut out with context_pad pixels of
// context and warped to crop_size x crop_size. Windows are drawn at random,
// not streamed, so a data-parallel replica's share is its own random stream.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/image_io.hpp"
#include "cortado/io.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/rng.hpp"

namespace cortado {
namespace {

struct WindowImage {
  std::string path;  // root_folder + the file's path
  int line = 0;      // of its "# index" line, for errors
  int channels = 0, height = 0, width = 0;
  caffe::Datum pixels;  // raw C x H x W, when cache_images
};

struct Window {
  int image = 0;
  int label = 0;
  int x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // inclusive pixel coordinates
};

// Where a window's clipped source box [x1, x2] x [y1, y2] lands in the
// crop: a width x height block at (left, top); the rest of the crop is
// context that fell outside the image and stays zero.
struct Placement {
  int x1, y1, x2, y2;
  int left, top, width, height;
};

// Reads the window file line by line, skipping blank lines, and names the
// file and line in every complaint.
class WindowFileReader {
 public:
  WindowFileReader(const std::string& prefix, const std::string& path)
      : prefix_(prefix), path_(path), in_(path) {
    if (!in_) ThrowError(prefix_, "cannot open window_data_param.source '", path_, "'");
  }

  bool Next(std::string* line) {
    while (std::getline(in_, *line)) {
      ++line_number_;
      while (!line->empty() && (line->back() == '\r' || line->back() == ' ' ||
                                line->back() == '\t')) {
        line->pop_back();
      }
      if (line->find_first_not_of(" \t") != std::string::npos) return true;
    }
    return false;
  }

  // The next line, which must exist: `what` says what was expected.
  std::string Require(const std::string& what) {
    std::string line;
    if (!Next(&line)) Fail("the file ends where ", what, " was expected");
    return line;
  }

  // The next line as one integer of at least `minimum`.
  int RequireInt(const std::string& what, int minimum) {
    const std::string line = Require(what);
    std::istringstream fields(line);
    long long value = 0;
    std::string extra;
    if (!(fields >> value) || (fields >> extra) || value < minimum || value > (1 << 30)) {
      Fail("expected ", what, " (an integer >= ", minimum, "), got '", line, "'");
    }
    return static_cast<int>(value);
  }

  template <typename... Args>
  [[noreturn]] void Fail(const Args&... args) const {
    ThrowError(prefix_, path_, ":", line_number_, ": ", args...);
  }

  int line_number() const { return line_number_; }

 private:
  std::string prefix_;
  std::string path_;
  std::ifstream in_;
  int line_number_ = 0;
};

class WindowDataLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "WindowData"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int ExactNumTopBlobs() const override { return 2; }
  bool IsDataSource() const override { return true; }
  int64_t records_consumed() const override { return consumed_; }
  // There is no stream to cut into shares: each replica draws its own
  // windows, from a generator reseeded by its index (replica 0 keeps the
  // set-up seed's stream), and counts records as all replicas together.
  void SetDataShard(int index, int count) override;

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  void Reshape(const BlobVec& bottom, const BlobVec& top) override;

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;

 private:
  void ReadSettings();
  void ReadWindowFile();
  void ReadMean();
  caffe::Datum LoadImage(const WindowImage& image) const;
  Placement Place(const Window& window) const;
  // Writes window's crop, mirrored if asked, at out (channels_ x crop x crop).
  void WarpWindow(const Window& window, bool mirror, float* out) const;

  int batch_size_ = 0;
  int crop_size_ = 0;
  int context_pad_ = 0;
  bool square_ = false;
  bool mirror_ = false;
  float scale_ = 1;
  float fg_threshold_ = 0.5f, bg_threshold_ = 0.5f, fg_fraction_ = 0.25f;
  bool cache_images_ = false;
  std::string source_;
  std::string root_folder_;
  int channels_ = 0;
  std::vector<WindowImage> images_;
  std::vector<Window> fg_windows_, bg_windows_;
  // Per channel and crop pixel, subtracted before scaling: from mean_file
  // (its centre crop) or mean_value; empty for no mean.
  std::vector<float> mean_;
  uint32_t seed_ = 0;  // drawn from GlobalRng() at set-up
  std::mt19937 rng_;   // draws windows and mirrors
  int64_t consumed_ = 0;  // by all replicas together
  int shard_index_ = 0;
  int shard_count_ = 1;
};

void WindowDataLayer::ReadSettings() {
  const caffe::WindowDataParameter& w = layer_param_.window_data_param();
  const caffe::TransformationParameter& t = layer_param_.transform_param();
  // transform_param is where these live now; window_data_param's own copies
  // are the legacy spelling, read when transform_param leaves them unset.
  crop_size_ = static_cast<int>(t.has_crop_size() ? t.crop_size() : w.crop_size());
  mirror_ = t.has_mirror() ? t.mirror() : w.mirror();
  scale_ = t.has_scale() ? t.scale() : w.scale();
  source_ = w.source();
  root_folder_ = w.root_folder();
  batch_size_ = static_cast<int>(w.batch_size());
  context_pad_ = static_cast<int>(w.context_pad());
  fg_threshold_ = w.fg_threshold();
  bg_threshold_ = w.bg_threshold();
  fg_fraction_ = w.fg_fraction();
  cache_images_ = w.cache_images();
  if (source_.empty()) ThrowError(ErrorPrefix(), "window_data_param.source is required");
  if (batch_size_ <= 0) ThrowError(ErrorPrefix(), "window_data_param.batch_size must be positive");
  if (crop_size_ <= 0) {
    ThrowError(ErrorPrefix(), "transform_param.crop_size (the side windows are warped to) "
               "must be positive");
  }
  if (2 * context_pad_ >= crop_size_) {
    ThrowError(ErrorPrefix(), "window_data_param.context_pad (", context_pad_,
               ") must be less than half of crop_size (", crop_size_, ")");
  }
  if (!(fg_fraction_ >= 0 && fg_fraction_ <= 1)) {
    ThrowError(ErrorPrefix(), "window_data_param.fg_fraction must lie in [0, 1], got ",
               fg_fraction_);
  }
  if (w.crop_mode() == "square") {
    square_ = true;
  } else if (w.crop_mode() != "warp") {
    ThrowError(ErrorPrefix(), "window_data_param.crop_mode must be \"warp\" or \"square\", got \"",
               w.crop_mode(), "\"");
  }
}

void WindowDataLayer::ReadWindowFile() {
  WindowFileReader reader(ErrorPrefix(), source_);
  std::string line;
  while (reader.Next(&line)) {
    std::istringstream header(line);
    char hash = 0;
    long long index = 0;
    std::string extra;
    if (!(header >> hash) || hash != '#' || !(header >> index) || (header >> extra)) {
      reader.Fail("expected '# <image index>' to start an image, got '", line, "'");
    }
    WindowImage image;
    image.line = reader.line_number();
    image.path = root_folder_ + reader.Require("the image path");
    image.channels = reader.RequireInt("the image's channels", 1);
    if (image.channels != 1 && image.channels != 3) {
      reader.Fail("channels must be 1 (gray) or 3 (color), got ", image.channels);
    }
    if (channels_ == 0) channels_ = image.channels;
    if (image.channels != channels_) {
      reader.Fail("image '", image.path, "' has ", image.channels, " channels but the first has ",
                  channels_, "; a batch needs one channel count");
    }
    image.height = reader.RequireInt("the image's height", 1);
    image.width = reader.RequireInt("the image's width", 1);
    const int windows = reader.RequireInt("the number of windows", 0);
    const int image_index = static_cast<int>(images_.size());
    for (int i = 0; i < windows; ++i) {
      const std::string text = reader.Require("a window line");
      std::istringstream fields(text);
      Window window;
      window.image = image_index;
      float overlap = 0;
      if (!(fields >> window.label >> overlap >> window.x1 >> window.y1 >> window.x2 >>
            window.y2) ||
          (fields >> extra)) {
        reader.Fail("expected a window 'class_index overlap x1 y1 x2 y2', got '", text, "'");
      }
      if (window.label < 0) reader.Fail("class_index must be non-negative, got ", window.label);
      if (window.x1 < 0 || window.y1 < 0 || window.x1 > window.x2 || window.y1 > window.y2 ||
          window.x2 >= image.width || window.y2 >= image.height) {
        reader.Fail("window (", window.x1, ", ", window.y1, ") - (", window.x2, ", ", window.y2,
                    ") is not a box inside the ", image.width, "x", image.height, " image");
      }
      if (overlap >= fg_threshold_) {
        if (window.label == 0) {
          reader.Fail("a foreground window (overlap ", overlap, " >= fg_threshold ",
                      fg_threshold_, ") has class_index 0, the background class");
        }
        fg_windows_.push_back(window);
      } else if (overlap < bg_threshold_) {
        window.label = 0;
        bg_windows_.push_back(window);
      }
      // Windows between the two thresholds are neither: they are left out.
    }
    images_.push_back(std::move(image));
  }
  if (images_.empty()) {
    ThrowError(ErrorPrefix(), "window_data_param.source '", source_, "' lists no images");
  }
}

void WindowDataLayer::ReadMean() {
  const caffe::WindowDataParameter& w = layer_param_.window_data_param();
  const caffe::TransformationParameter& t = layer_param_.transform_param();
  const std::string mean_file = t.has_mean_file() ? t.mean_file() : w.mean_file();
  const int crop = crop_size_;
  const int64_t plane = int64_t(crop) * crop;
  if (!mean_file.empty() && t.mean_value_size() > 0) {
    ThrowError(ErrorPrefix(), "give transform_param.mean_file or mean_value, not both");
  }
  if (!mean_file.empty()) {
    caffe::BlobProto proto;
    try {
      ReadProtoFromBinaryFile(mean_file, &proto);
    } catch (const Error& e) {
      ThrowError(ErrorPrefix(), "mean_file: ", e.what());
    }
    Blob mean;
    mean.FromProto(proto);
    // One image: C x H x W, possibly with a leading 1.
    const int axes = mean.num_axes();
    if (axes < 3 || mean.count() != mean.count(axes - 3) || mean.shape(axes - 3) != channels_ ||
        mean.shape(axes - 2) < crop || mean.shape(axes - 1) < crop) {
      ThrowError(ErrorPrefix(), "mean_file ", mean_file, " has shape ", mean.shape_string(),
                 "; expected one ", channels_, "-channel image of at least ", crop, "x", crop);
    }
    const int height = mean.shape(axes - 2), width = mean.shape(axes - 1);
    const int top = (height - crop) / 2, left = (width - crop) / 2;
    mean_.resize(channels_ * plane);
    for (int c = 0; c < channels_; ++c) {
      for (int h = 0; h < crop; ++h) {
        const float* row = mean.cpu_data() + (int64_t(c) * height + top + h) * width + left;
        std::copy(row, row + crop, mean_.begin() + c * plane + int64_t(h) * crop);
      }
    }
  } else if (t.mean_value_size() > 0) {
    if (t.mean_value_size() != 1 && t.mean_value_size() != channels_) {
      ThrowError(ErrorPrefix(), "transform_param.mean_value has ", t.mean_value_size(),
                 " values; give 1 or one per channel (", channels_, ")");
    }
    mean_.resize(channels_ * plane);
    for (int c = 0; c < channels_; ++c) {
      const float value = t.mean_value(t.mean_value_size() == 1 ? 0 : c);
      std::fill(mean_.begin() + c * plane, mean_.begin() + (c + 1) * plane, value);
    }
  }
}

caffe::Datum WindowDataLayer::LoadImage(const WindowImage& image) const {
  caffe::Datum datum;
  ImageShape shape;
  if (!ReadImageToDatum(image.path, 0, 0, 0, image.channels == 3, "", &datum, &shape)) {
    ThrowError(ErrorPrefix(), "cannot read image '", image.path, "' (", source_, ":", image.line,
               ")");
  }
  if (shape.height != image.height || shape.width != image.width) {
    ThrowError(ErrorPrefix(), "image '", image.path, "' is ", shape.width, "x", shape.height,
               " but ", source_, ":", image.line, " declares ", image.width, "x", image.height);
  }
  return datum;
}

void WindowDataLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  ReadSettings();
  ReadWindowFile();
  const int fg_per_batch = static_cast<int>(static_cast<float>(batch_size_) * fg_fraction_);
  if (fg_per_batch > 0 && fg_windows_.empty()) {
    ThrowError(ErrorPrefix(), source_, " has no foreground window (overlap >= fg_threshold ",
               fg_threshold_, ") but fg_fraction asks for ", fg_per_batch, " per batch");
  }
  if (fg_per_batch < batch_size_ && bg_windows_.empty()) {
    ThrowError(ErrorPrefix(), source_, " has no background window (overlap < bg_threshold ",
               bg_threshold_, ") but a batch needs ", batch_size_ - fg_per_batch);
  }
  ReadMean();
  if (cache_images_) {
    for (WindowImage& image : images_) image.pixels = LoadImage(image);
  } else {
    // Images are read when drawn; a missing one is worth hearing about now.
    for (const WindowImage& image : images_) {
      if (!std::filesystem::is_regular_file(image.path)) {
        ThrowError(ErrorPrefix(), "image '", image.path, "' does not exist (", source_, ":",
                   image.line, ")");
      }
    }
  }
  seed_ = static_cast<uint32_t>(GlobalRng()());
  rng_.seed(shard_index_ > 0 ? ReplicaSeed(seed_, shard_index_) : seed_);
  consumed_ = 0;
}

void WindowDataLayer::SetDataShard(int index, int count) {
  CHECK_GE(index, 0);
  CHECK_LT(index, count);
  if (index == shard_index_ && count == shard_count_) return;
  shard_index_ = index;
  shard_count_ = count;
  // Before set-up there is no seed yet; LayerSetUp applies the index.
  if (index > 0 && !images_.empty()) rng_.seed(ReplicaSeed(seed_, index));
}

void WindowDataLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  top[0]->Reshape({batch_size_, channels_, crop_size_, crop_size_});
  top[1]->Reshape({batch_size_});
}

Placement WindowDataLayer::Place(const Window& window) const {
  const int crop = crop_size_;
  if (context_pad_ == 0 && !square_) {
    return {window.x1, window.y1, window.x2, window.y2, 0, 0, crop, crop};
  }
  // Grow the box about its centre so that, once warped, context_pad pixels
  // of the crop on each side show what surrounds the window. Pixel i spans
  // [i, i + 1), so the box spans [x1, x2 + 1).
  const float grow = static_cast<float>(crop) / static_cast<float>(crop - 2 * context_pad_);
  float half_w = (window.x2 - window.x1 + 1) / 2.f;
  float half_h = (window.y2 - window.y1 + 1) / 2.f;
  if (square_) half_w = half_h = std::max(half_w, half_h);
  const float cx = (window.x1 + window.x2 + 1) / 2.f;
  const float cy = (window.y1 + window.y2 + 1) / 2.f;
  const int x1 = static_cast<int>(std::lround(cx - half_w * grow));
  const int x2 = std::max(x1, static_cast<int>(std::lround(cx + half_w * grow)) - 1);
  const int y1 = static_cast<int>(std::lround(cy - half_h * grow));
  const int y2 = std::max(y1, static_cast<int>(std::lround(cy + half_h * grow)) - 1);
  const WindowImage& image = images_[window.image];
  Placement p;
  p.x1 = std::clamp(x1, 0, image.width - 1);
  p.x2 = std::clamp(x2, 0, image.width - 1);
  p.y1 = std::clamp(y1, 0, image.height - 1);
  p.y2 = std::clamp(y2, 0, image.height - 1);
  // The part of the grown box outside the image becomes zero padding, in
  // proportion to the warp of the whole box onto the crop.
  const float sx = static_cast<float>(crop) / static_cast<float>(x2 - x1 + 1);
  const float sy = static_cast<float>(crop) / static_cast<float>(y2 - y1 + 1);
  p.left = std::clamp(static_cast<int>(std::lround((p.x1 - x1) * sx)), 0, crop - 1);
  p.top = std::clamp(static_cast<int>(std::lround((p.y1 - y1) * sy)), 0, crop - 1);
  p.width = std::clamp(static_cast<int>(std::lround((p.x2 - p.x1 + 1) * sx)), 1, crop - p.left);
  p.height = std::clamp(static_cast<int>(std::lround((p.y2 - p.y1 + 1) * sy)), 1, crop - p.top);
  return p;
}

void WindowDataLayer::WarpWindow(const Window& window, bool mirror, float* out) const {
  const WindowImage& image = images_[window.image];
  const caffe::Datum loaded = cache_images_ ? caffe::Datum() : LoadImage(image);
  const caffe::Datum& datum = cache_images_ ? image.pixels : loaded;
  const Placement p = Place(window);
  // The clipped source box as an interleaved OpenCV image, warped to its
  // block of the crop.
  const int box_w = p.x2 - p.x1 + 1, box_h = p.y2 - p.y1 + 1;
  const int channels = channels_;
  const auto* pixels = reinterpret_cast<const uint8_t*>(datum.data().data());
  const int64_t plane = int64_t(image.height) * image.width;
  cv::Mat box(box_h, box_w, CV_8UC(channels));
  for (int h = 0; h < box_h; ++h) {
    uint8_t* row = box.ptr<uint8_t>(h);
    for (int w = 0; w < box_w; ++w) {
      for (int c = 0; c < channels; ++c) {
        row[w * channels + c] = pixels[c * plane + int64_t(p.y1 + h) * image.width + p.x1 + w];
      }
    }
  }
  cv::Mat warped;
  if (box_w == p.width && box_h == p.height) {
    warped = box;
  } else {
    cv::resize(box, warped, cv::Size(p.width, p.height), 0, 0, cv::INTER_LINEAR);
  }
  const int crop = crop_size_;
  const int64_t crop_plane = int64_t(crop) * crop;
  std::fill(out, out + channels * crop_plane, 0.f);
  // Mirroring flips the whole crop, padding included.
  const int left = mirror ? crop - p.left - p.width : p.left;
  for (int h = 0; h < p.height; ++h) {
    const uint8_t* row = warped.ptr<uint8_t>(h);
    for (int w = 0; w < p.width; ++w) {
      const int x = left + (mirror ? p.width - 1 - w : w);
      for (int c = 0; c < channels; ++c) {
        const int64_t at = c * crop_plane + int64_t(p.top + h) * crop + x;
        const float mean = mean_.empty() ? 0.f : mean_[at];
        out[at] = (static_cast<float>(row[w * channels + c]) - mean) * scale_;
      }
    }
  }
}

void WindowDataLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  // Background windows first, then the foreground share, as in Caffe.
  const int fg_count = static_cast<int>(static_cast<float>(batch_size_) * fg_fraction_);
  const int64_t item = top[0]->count(1);
  float* data = top[0]->mutable_cpu_data();
  float* labels = top[1]->mutable_cpu_data();
  const bool may_mirror = mirror_ && phase_ == caffe::TRAIN;
  for (int i = 0; i < batch_size_; ++i) {
    const std::vector<Window>& pool = i < batch_size_ - fg_count ? bg_windows_ : fg_windows_;
    const Window& window =
        pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng_)];
    const bool mirror = may_mirror && (rng_() & 1u);
    try {
      WarpWindow(window, mirror, data + i * item);
    } catch (const cv::Exception& e) {
      ThrowError(ErrorPrefix(), "OpenCV failed on a window of '", images_[window.image].path,
                 "': ", e.what());
    }
    labels[i] = static_cast<float>(window.label);
  }
  consumed_ += int64_t{shard_count_} * batch_size_;
}

}  // namespace

CORTADO_REGISTER_LAYER(WindowData, WindowDataLayer)

}  // namespace cortado
