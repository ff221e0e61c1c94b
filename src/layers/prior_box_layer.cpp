// PriorBox (SSD): the default boxes of one feature map. Top is
// 1 x 2 x (H * W * priors * 4): channel 0 holds [xmin, ymin, xmax, ymax]
// normalised by the image size, channel 1 the matching variances. Per cell
// the boxes come in SSD's order: for each min_size, the min square, the
// sqrt(min * max) square, then one box per extra aspect ratio.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class PriorBoxLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "PriorBox"; }
  // The feature map and the image; only their shapes are read.
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return false; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::PriorBoxParameter& p = layer_param_.prior_box_param();
    if (p.min_size_size() == 0) ThrowError(ErrorPrefix(), "prior_box_param.min_size is required");
    min_sizes_.assign(p.min_size().begin(), p.min_size().end());
    max_sizes_.assign(p.max_size().begin(), p.max_size().end());
    for (float s : min_sizes_) {
      if (s <= 0) ThrowError(ErrorPrefix(), "prior_box_param.min_size must be positive, got ", s);
    }
    if (!max_sizes_.empty()) {
      if (max_sizes_.size() != min_sizes_.size()) {
        ThrowError(ErrorPrefix(), "prior_box_param needs one max_size per min_size (",
                   min_sizes_.size(), "), got ", max_sizes_.size());
      }
      for (size_t i = 0; i < max_sizes_.size(); ++i) {
        if (max_sizes_[i] <= min_sizes_[i]) {
          ThrowError(ErrorPrefix(), "prior_box_param.max_size ", max_sizes_[i],
                     " must exceed min_size ", min_sizes_[i]);
        }
      }
    }
    aspect_ratios_ = {1.f};
    for (float ar : p.aspect_ratio()) {
      if (ar <= 0) ThrowError(ErrorPrefix(), "prior_box_param.aspect_ratio must be positive");
      AddRatio(ar);
      if (p.flip()) AddRatio(1.f / ar);
    }
    variances_.assign(p.variance().begin(), p.variance().end());
    if (variances_.empty()) variances_ = {0.1f};
    if (variances_.size() != 1 && variances_.size() != 4) {
      ThrowError(ErrorPrefix(), "prior_box_param.variance takes 1 or 4 values, got ",
                 variances_.size());
    }
    for (float v : variances_) {
      if (v <= 0) ThrowError(ErrorPrefix(), "prior_box_param.variance must be positive");
    }
    if (p.has_img_size() && (p.has_img_h() || p.has_img_w())) {
      ThrowError(ErrorPrefix(), "set prior_box_param.img_size or img_h/img_w, not both");
    }
    if (p.has_step() && (p.has_step_h() || p.has_step_w())) {
      ThrowError(ErrorPrefix(), "set prior_box_param.step or step_h/step_w, not both");
    }
    priors_per_cell_ =
        static_cast<int>(aspect_ratios_.size() * min_sizes_.size() + max_sizes_.size());
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (bottom[0]->num_axes() != 4 || bottom[1]->num_axes() != 4) {
      ThrowError(ErrorPrefix(), "bottoms must be N x C x H x W, got ", bottom[0]->shape_string(),
                 " and ", bottom[1]->shape_string());
    }
    top[0]->Reshape({1, 2, bottom[0]->height() * bottom[0]->width() * priors_per_cell_ * 4});
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::PriorBoxParameter& p = layer_param_.prior_box_param();
    const int layer_h = bottom[0]->height(), layer_w = bottom[0]->width();
    const float img_h = p.has_img_size() ? p.img_size()
                        : p.has_img_h()  ? p.img_h()
                                         : bottom[1]->height();
    const float img_w = p.has_img_size() ? p.img_size()
                        : p.has_img_w()  ? p.img_w()
                                         : bottom[1]->width();
    const float step_h = p.has_step() ? p.step() : p.has_step_h() ? p.step_h() : img_h / layer_h;
    const float step_w = p.has_step() ? p.step() : p.has_step_w() ? p.step_w() : img_w / layer_w;
    float* boxes = top[0]->mutable_cpu_data();
    float* out = boxes;
    auto emit = [&](float cx, float cy, float w, float h) {
      *out++ = (cx - w / 2) / img_w;
      *out++ = (cy - h / 2) / img_h;
      *out++ = (cx + w / 2) / img_w;
      *out++ = (cy + h / 2) / img_h;
    };
    for (int i = 0; i < layer_h; ++i) {
      for (int j = 0; j < layer_w; ++j) {
        const float cx = (j + p.offset()) * step_w;
        const float cy = (i + p.offset()) * step_h;
        for (size_t s = 0; s < min_sizes_.size(); ++s) {
          const float min_size = min_sizes_[s];
          emit(cx, cy, min_size, min_size);
          if (!max_sizes_.empty()) {
            const float side = std::sqrt(min_size * max_sizes_[s]);
            emit(cx, cy, side, side);
          }
          for (size_t r = 1; r < aspect_ratios_.size(); ++r) {
            const float root = std::sqrt(aspect_ratios_[r]);
            emit(cx, cy, min_size * root, min_size / root);
          }
        }
      }
    }
    const int64_t values = top[0]->count(2);
    if (p.clip()) {
      for (int64_t k = 0; k < values; ++k) boxes[k] = std::min(std::max(boxes[k], 0.f), 1.f);
    }
    float* variances = boxes + values;
    for (int64_t k = 0; k < values; ++k)
      variances[k] = variances_[variances_.size() == 1 ? 0 : k % 4];
  }

 private:
  // Adds an aspect ratio unless (nearly) present already.
  void AddRatio(float ar) {
    for (float have : aspect_ratios_) {
      if (std::fabs(have - ar) < 1e-6f) return;
    }
    aspect_ratios_.push_back(ar);
  }

  std::vector<float> min_sizes_, max_sizes_, aspect_ratios_, variances_;
  int priors_per_cell_ = 1;
};

}  // namespace

CORTADO_REGISTER_LAYER(PriorBox, PriorBoxLayer)

}  // namespace cortado
