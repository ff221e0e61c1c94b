// LRN: local response normalization across channels or within a channel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "lrn_math.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// lrn_layer.cu
void LrnForwardGpu(int64_t n, int channels, int height, int width, int local_size,
                   bool across, float alpha, float beta, float k, const float* x,
                   float* scale, float* y);
void LrnBackwardGpu(int64_t n, int channels, int height, int width, int local_size,
                    bool across, float alpha, float beta, const float* x, const float* y,
                    const float* dy, const float* scale, float* ratio, float* dx);
#endif

// ACROSS_CHANNELS: y = x * (k + alpha/n * sum_{n neighbouring channels} x^2)^-beta.
// WITHIN_CHANNEL:  y = x * (1 + alpha * avg_{n x n window} x^2)^-beta, where
// the average divides by the window clipped to the zero-padded input (Caffe
// builds this from AVE pooling, whose shift is fixed at 1: k is unused).
class LrnLayer : public Layer {
 public:
  explicit LrnLayer(const caffe::LayerParameter& param) : Layer(param) {}
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;
  const char* type() const override { return "LRN"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  void Reshape(const BlobVec& bottom, const BlobVec& top) override;

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override;
#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override;
#endif

 private:
  // The window of spatial position p along an axis of length `size`:
  // [p - pre_pad_, p - pre_pad_ + size_) clipped to the input; returns the
  // length it would have if clipped only to the padded input.
  int SpatialWindow(int p, int size, int* lo, int* hi) const;
  // Sums the within-channel windows of `values` (one plane) into `sums`,
  // divided by each window's padded area.
  void WindowAverage(const float* values, float* sums) const;

  bool across_ = true;
  int size_ = 5;
  int pre_pad_ = 2;
  float alpha_ = 1, beta_ = 0.75f, k_ = 1;
  int num_ = 0, channels_ = 0, height_ = 0, width_ = 0;
  // The denominator base (before ^-beta) per element, kept for Backward.
  std::vector<float> scale_;
  std::vector<float> scratch_;
  // CUDA path: scale_ and the backward ratio on the device.
  Blob scale_gpu_, ratio_gpu_;
};

void LrnLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::LRNParameter& p = layer_param_.lrn_param();
  size_ = static_cast<int>(p.local_size());
  if (size_ <= 0 || size_ % 2 == 0) {
    ThrowError(ErrorPrefix(), "local_size must be a positive odd number, got ", size_);
  }
  pre_pad_ = (size_ - 1) / 2;
  alpha_ = p.alpha();
  beta_ = p.beta();
  k_ = p.k();
  across_ = p.norm_region() == caffe::LRNParameter::ACROSS_CHANNELS;
}

void LrnLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  const Blob& in = *bottom[0];
  if (in.num_axes() != 4) {
    ThrowError(ErrorPrefix(), "needs a 4-D bottom (num, channels, height, width), got ",
               in.shape_string());
  }
  num_ = in.num();
  channels_ = in.channels();
  height_ = in.height();
  width_ = in.width();
  top[0]->ReshapeLike(in);
}

int LrnLayer::SpatialWindow(int p, int size, int* lo, int* hi) const {
  return LrnSpatialWindow(p, size, pre_pad_, size_, lo, hi);
}

void LrnLayer::WindowAverage(const float* values, float* sums) const {
  for (int h = 0; h < height_; ++h) {
    int h0, h1, w0, w1;
    const int span_h = SpatialWindow(h, height_, &h0, &h1);
    for (int w = 0; w < width_; ++w) {
      const int span_w = SpatialWindow(w, width_, &w0, &w1);
      float sum = 0;
      for (int i = h0; i < h1; ++i) {
        for (int j = w0; j < w1; ++j) sum += values[i * width_ + j];
      }
      sums[h * width_ + w] = sum / (span_h * span_w);
    }
  }
}

void LrnLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const float* x = bottom[0]->cpu_data();
  float* y = top[0]->mutable_cpu_data();
  const int64_t count = bottom[0]->count();
  const int plane = height_ * width_;
  scale_.resize(count);
  if (across_) {
    // Running sum of squares over the channel window, slid one channel at a
    // time: add the channel entering, subtract the one leaving.
    scratch_.resize(plane);
    const float alpha_over_size = alpha_ / size_;
    for (int n = 0; n < num_; ++n) {
      const float* xn = x + int64_t(n) * channels_ * plane;
      float* sn = scale_.data() + int64_t(n) * channels_ * plane;
      float* window = scratch_.data();
      std::fill(window, window + plane, 0.f);
      for (int c = 0; c < std::min(pre_pad_, channels_); ++c) {
        for (int j = 0; j < plane; ++j) window[j] += xn[c * plane + j] * xn[c * plane + j];
      }
      for (int c = 0; c < channels_; ++c) {
        const int entering = c + pre_pad_;
        const int leaving = c - pre_pad_ - 1;
        if (entering < channels_) {
          const float* e = xn + int64_t(entering) * plane;
          for (int j = 0; j < plane; ++j) window[j] += e[j] * e[j];
        }
        if (leaving >= 0) {
          const float* l = xn + int64_t(leaving) * plane;
          for (int j = 0; j < plane; ++j) window[j] -= l[j] * l[j];
        }
        float* s = sn + int64_t(c) * plane;
        for (int j = 0; j < plane; ++j) s[j] = k_ + alpha_over_size * window[j];
      }
    }
  } else {
    scratch_.resize(plane);
    for (int64_t p = 0; p < int64_t(num_) * channels_; ++p) {
      const float* xp = x + p * plane;
      for (int j = 0; j < plane; ++j) scratch_[j] = xp[j] * xp[j];
      float* s = scale_.data() + p * plane;
      WindowAverage(scratch_.data(), s);
      for (int j = 0; j < plane; ++j) s[j] = 1.f + alpha_ * s[j];
    }
  }
  for (int64_t i = 0; i < count; ++i) y[i] = x[i] * std::pow(scale_[i], -beta_);
}

void LrnLayer::BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                            const BlobVec& bottom) {
  if (!propagate_down[0]) return;
  const float* x = bottom[0]->cpu_data();
  const float* y = top[0]->cpu_data();
  const float* dy = top[0]->cpu_diff();
  float* dx = bottom[0]->mutable_cpu_diff();
  const int64_t count = bottom[0]->count();
  const int plane = height_ * width_;
  // With r = dy * y / scale, dx = dy * scale^-beta - 2 * alpha * beta / n * x *
  // (sum of r over every window containing x). Windows are symmetric (odd n),
  // so that sum is the same window sum taken around x.
  std::vector<float> ratio(count);
  for (int64_t i = 0; i < count; ++i) ratio[i] = dy[i] * y[i] / scale_[i];
  std::vector<float> window_sum(count);
  float factor;
  if (across_) {
    factor = 2.f * alpha_ * beta_ / size_;
    for (int n = 0; n < num_; ++n) {
      for (int c = 0; c < channels_; ++c) {
        float* out = window_sum.data() + (int64_t(n) * channels_ + c) * plane;
        std::fill(out, out + plane, 0.f);
        const int c0 = std::max(c - pre_pad_, 0);
        const int c1 = std::min(c + pre_pad_ + 1, channels_);
        for (int cc = c0; cc < c1; ++cc) {
          Axpy(plane, 1.f, ratio.data() + (int64_t(n) * channels_ + cc) * plane, out);
        }
      }
    }
  } else {
    // WindowAverage divides by the padded window area, which is the same
    // n*n for every window when n is odd and the pad is (n-1)/2.
    factor = 2.f * alpha_ * beta_;
    for (int64_t p = 0; p < int64_t(num_) * channels_; ++p) {
      WindowAverage(ratio.data() + p * plane, window_sum.data() + p * plane);
    }
  }
  for (int64_t i = 0; i < count; ++i) {
    dx[i] = dy[i] * std::pow(scale_[i], -beta_) - factor * x[i] * window_sum[i];
  }
}

#ifdef CORTADO_WITH_CUDA
void LrnLayer::ForwardGpu(const BlobVec& bottom, const BlobVec& top) {
  scale_gpu_.ReshapeLike(*bottom[0]);
  LrnForwardGpu(bottom[0]->count(), channels_, height_, width_, size_, across_, alpha_, beta_,
                k_, bottom[0]->gpu_data(), scale_gpu_.mutable_gpu_data(),
                top[0]->mutable_gpu_data());
}

void LrnLayer::BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                           const BlobVec& bottom) {
  if (!propagate_down[0]) return;
  ratio_gpu_.ReshapeLike(*bottom[0]);
  LrnBackwardGpu(bottom[0]->count(), channels_, height_, width_, size_, across_, alpha_, beta_,
                 bottom[0]->gpu_data(), top[0]->gpu_data(), top[0]->gpu_diff(),
                 scale_gpu_.gpu_data(), ratio_gpu_.mutable_gpu_data(),
                 bottom[0]->mutable_gpu_diff());
}
#endif

CORTADO_REGISTER_LAYER(LRN, LrnLayer)

}  // namespace cortado
