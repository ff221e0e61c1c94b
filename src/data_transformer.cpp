// Datum -> float input: decode, crop, mirror, mean subtraction and scale.
#include "cortado/data_transformer.hpp"

#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include "cortado/common.hpp"
#include "cortado/image_io.hpp"
#include "cortado/io.hpp"
#include "cortado/rng.hpp"

namespace cortado {
namespace {

// A datum's pixels as planar C x H x W, whichever form they were stored in.
// Raw datums are viewed in place; encoded ones are decoded into `decoded`.
struct PixelView {
  int channels = 0;
  int height = 0;
  int width = 0;
  const uint8_t* bytes = nullptr;  // exactly one of bytes/floats is set
  const float* floats = nullptr;
  std::vector<uint8_t> decoded;
};

// Decodes with OpenCV and keeps its BGR channel order, as Caffe does, so
// mean files and trained weights from Caffe line up with our inputs.
void DecodeDatum(const caffe::Datum& datum, const caffe::TransformationParameter& p,
                 PixelView* view) {
  int flags = cv::IMREAD_UNCHANGED;
  if (p.force_color()) flags = cv::IMREAD_COLOR;
  if (p.force_gray()) flags = cv::IMREAD_GRAYSCALE;
  const std::string& data = datum.data();
  cv::Mat image = DecodeImageBytes(data, flags);
  if (image.empty()) {
    ThrowError("could not decode the encoded image in a Datum (",
               data.size(), " bytes)");
  }
  if (image.depth() != CV_8U) {
    cv::Mat converted;
    image.convertTo(converted, CV_8U);
    image = converted;
  }
  view->channels = image.channels();
  view->height = image.rows;
  view->width = image.cols;
  const int plane = view->height * view->width;
  view->decoded.resize(static_cast<size_t>(plane) * view->channels);
  for (int h = 0; h < view->height; ++h) {
    const uint8_t* row = image.ptr<uint8_t>(h);
    for (int w = 0; w < view->width; ++w) {
      for (int c = 0; c < view->channels; ++c) {
        view->decoded[c * plane + h * view->width + w] =
            row[w * view->channels + c];
      }
    }
  }
  view->bytes = view->decoded.data();
}

void ViewDatum(const caffe::Datum& datum,
               const caffe::TransformationParameter& p, PixelView* view) {
  if (datum.encoded()) {
    DecodeDatum(datum, p, view);
    return;
  }
  view->channels = datum.channels();
  view->height = datum.height();
  view->width = datum.width();
  if (view->channels <= 0 || view->height <= 0 || view->width <= 0) {
    ThrowError("Datum has shape ", view->channels, "x", view->height, "x",
               view->width, "; every dimension must be positive");
  }
  // Three positive ints can pass 2^63: no record holds that many values.
  int64_t count = 0;
  if (__builtin_mul_overflow(int64_t{view->channels} * view->height, view->width, &count)) {
    ThrowError("Datum has shape ", view->channels, "x", view->height, "x",
               view->width, ", more values than any record can hold");
  }
  if (!datum.data().empty()) {
    if (static_cast<int64_t>(datum.data().size()) != count) {
      ThrowError("Datum data holds ", datum.data().size(), " bytes but its shape ",
                 view->channels, "x", view->height, "x", view->width,
                 " needs ", count);
    }
    view->bytes = reinterpret_cast<const uint8_t*>(datum.data().data());
  } else {
    if (datum.float_data_size() != count) {
      ThrowError("Datum float_data holds ", datum.float_data_size(),
                 " values but its shape ", view->channels, "x", view->height,
                 "x", view->width, " needs ", count);
    }
    view->floats = datum.float_data().data();
  }
}

// dst[w] = (src[w] - mean) * scale over one row, mirrored if asked. The
// cases are separate loops so that the common ones (no mirror) vectorise:
// with a branch per pixel, LeNet's 64 images took 0.1 ms a batch.
template <typename Pixel>
void TransformRow(const Pixel* src, const float* mean_row, float mean_value, float scale,
                  bool mirror, int width, float* dst) {
  if (mirror) {
    for (int w = 0; w < width; ++w) {
      const float pixel = static_cast<float>(src[w]) - (mean_row ? mean_row[w] : mean_value);
      dst[width - 1 - w] = pixel * scale;
    }
  } else if (mean_row) {
    for (int w = 0; w < width; ++w) dst[w] = (static_cast<float>(src[w]) - mean_row[w]) * scale;
  } else {
    for (int w = 0; w < width; ++w) dst[w] = (static_cast<float>(src[w]) - mean_value) * scale;
  }
}

}  // namespace

DataTransformer::DataTransformer(const caffe::TransformationParameter& param,
                                 caffe::Phase phase)
    : param_(param),
      phase_(phase),
      seed_(static_cast<uint32_t>(GlobalRng()())),
      rng_(seed_) {
  if (param_.force_color() && param_.force_gray()) {
    ThrowError("transform_param: force_color and force_gray are both set");
  }
  if (param_.has_mean_file() && param_.mean_value_size() > 0) {
    ThrowError("transform_param: give mean_file or mean_value, not both");
  }
  if (param_.has_mean_file()) {
    caffe::BlobProto proto;
    ReadProtoFromBinaryFile(param_.mean_file(), &proto);
    try {
      mean_.FromProto(proto);
    } catch (const Error& e) {
      ThrowError("transform_param: mean_file ", param_.mean_file(), ": ", e.what());
    }
    // A NaN or infinity would turn every input, and so the loss, into NaN.
    const float* mean = mean_.cpu_data();
    for (int64_t i = 0; i < mean_.count(); ++i) {
      if (!std::isfinite(mean[i])) {
        ThrowError("transform_param: mean_file ", param_.mean_file(), " holds ", mean[i],
                   " at element ", i, " of ", mean_.count(), "; a mean must be finite");
      }
    }
    if (mean_.num_axes() == 4 && mean_.shape(0) != 1) {
      ThrowError("transform_param: mean_file ", param_.mean_file(),
                 " has shape ", mean_.shape_string(),
                 "; expected one image (1 x C x H x W)");
    }
  }
  for (float v : param_.mean_value()) mean_values_.push_back(v);
}

std::vector<int> DataTransformer::InferShape(const caffe::Datum& datum) const {
  PixelView view;
  ViewDatum(datum, param_, &view);
  const int crop = static_cast<int>(param_.crop_size());
  if (crop > 0 && (crop > view.height || crop > view.width)) {
    ThrowError("transform_param: crop_size ", crop, " is larger than the ",
               view.height, "x", view.width, " image");
  }
  const int height = crop > 0 ? crop : view.height;
  const int width = crop > 0 ? crop : view.width;
  return {1, view.channels, height, width};
}

void DataTransformer::Transform(const caffe::Datum& datum, float* out) {
  PixelView view;
  ViewDatum(datum, param_, &view);
  const int channels = view.channels;
  const int height = view.height;
  const int width = view.width;
  const int crop = static_cast<int>(param_.crop_size());
  const float scale = param_.scale();
  const bool train = phase_ == caffe::TRAIN;

  // The mean is an uncropped image, so it is indexed at the same (h, w)
  // offsets as the source pixels; that keeps a random crop consistent.
  const float* mean = nullptr;
  if (mean_.count() > 0) {
    if (mean_.num_axes() < 3 || mean_.shape(-3) != channels || mean_.shape(-2) != height ||
        mean_.shape(-1) != width) {
      ThrowError("transform_param: mean_file ", param_.mean_file(),
                 " has shape ", mean_.shape_string(), " but the image is ",
                 channels, "x", height, "x", width);
    }
    mean = mean_.cpu_data();
  }
  if (!mean_values_.empty() && mean_values_.size() != 1 &&
      static_cast<int>(mean_values_.size()) != channels) {
    ThrowError("transform_param: ", mean_values_.size(),
               " mean_value entries for a ", channels,
               "-channel image; give one, or one per channel");
  }

  int h_off = 0;
  int w_off = 0;
  int out_h = height;
  int out_w = width;
  if (crop > 0) {
    if (crop > height || crop > width) {
      ThrowError("transform_param: crop_size ", crop, " is larger than the ",
                 height, "x", width, " image");
    }
    out_h = out_w = crop;
    if (train) {
      h_off = static_cast<int>(rng_() % (height - crop + 1));
      w_off = static_cast<int>(rng_() % (width - crop + 1));
    } else {
      h_off = (height - crop) / 2;
      w_off = (width - crop) / 2;
    }
  }
  const bool mirror = train && param_.mirror() && (rng_() % 2 == 1);

  for (int c = 0; c < channels; ++c) {
    const float mean_value =
        mean_values_.empty()
            ? 0.f
            : mean_values_[mean_values_.size() == 1 ? 0 : c];
    for (int h = 0; h < out_h; ++h) {
      const int64_t src_row = (int64_t{c} * height + h + h_off) * width + w_off;
      float* dst_row = out + (int64_t{c} * out_h + h) * out_w;
      const float* mean_row = mean ? mean + src_row : nullptr;
      if (view.bytes) {
        TransformRow(view.bytes + src_row, mean_row, mean_value, scale, mirror, out_w, dst_row);
      } else {
        TransformRow(view.floats + src_row, mean_row, mean_value, scale, mirror, out_w, dst_row);
      }
    }
  }
}

}  // namespace cortado
