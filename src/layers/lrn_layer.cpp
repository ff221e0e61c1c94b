// LRN: local response normalization across channels or within a channel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/parallel.hpp"
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
  bool CheapToRecompute() const override { return true; }
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
  // ACROSS_CHANNELS on the process's threads: see lrn_layer.cpp.
  template <typename Emit>
  void SlideChannelWindows(const float* values, bool squared, const Emit& emit) const;

  bool across_ = true;
  int size_ = 5;
  int pre_pad_ = 2;
  float alpha_ = 1, beta_ = 0.75f, k_ = 1;
  int num_ = 0, channels_ = 0, height_ = 0, width_ = 0;
  // The denominator base (before ^-beta) per element, kept for Backward;
  // an internal blob, placed by the net's memory planner.
  Blob scale_;
  // CUDA path: the backward ratio.
  Blob ratio_gpu_;
};

void LrnLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::LRNParameter& p = layer_param_.lrn_param();
  DeclareInternalBlob(&scale_);
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
  scale_.ReshapeLike(in);
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

namespace {

// Inner positions per ACROSS_CHANNELS tile: a sliding window of this many
// floats stays in L1, and batch-1 inference still splits across threads.
constexpr int64_t kLrnTile = 1024;

// y = x * s^-beta, or the backward pass's dy * s^-beta, over [lo, hi).
// beta = 0.75 (every published LRN) is two square roots, several times
// faster than pow().
void MultiplyByScalePower(int64_t lo, int64_t hi, const float* v, const float* s, float beta,
                          float* out) {
  if (beta == 0.75f) {
    for (int64_t i = lo; i < hi; ++i) {
      const float r = 1.f / std::sqrt(s[i]);
      out[i] = v[i] * (r * std::sqrt(r));
    }
  } else {
    for (int64_t i = lo; i < hi; ++i) out[i] = v[i] * std::pow(s[i], -beta);
  }
}

}  // namespace

// ACROSS_CHANNELS: every (image, tile of kLrnTile positions) is one task,
// which slides a running channel-window sum of `values` (its own scratch)
// and calls emit(c, window, offset, width) for each channel c.
template <typename Emit>
void LrnLayer::SlideChannelWindows(const float* values, bool squared, const Emit& emit) const {
  const int64_t plane = int64_t(height_) * width_;
  const int channels = channels_, pre_pad = pre_pad_;
  const int64_t tiles = (plane + kLrnTile - 1) / kLrnTile;
  ParallelForRows(num_ * tiles, channels * std::min(plane, kLrnTile), [&](int64_t t0,
                                                                          int64_t t1) {
    std::vector<float> window(std::min(plane, kLrnTile));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = t / tiles, j0 = (t % tiles) * kLrnTile;
      const int64_t width = std::min(kLrnTile, plane - j0);
      const int64_t offset = n * channels * plane + j0;
      const float* vn = values + offset;
      auto add = [&](int c, float sign) {
        const float* v = vn + int64_t(c) * plane;
        if (squared) {
          for (int64_t j = 0; j < width; ++j) window[j] += sign * (v[j] * v[j]);
        } else {
          for (int64_t j = 0; j < width; ++j) window[j] += sign * v[j];
        }
      };
      std::fill(window.begin(), window.begin() + width, 0.f);
      for (int c = 0; c < std::min(pre_pad, channels); ++c) add(c, 1.f);
      for (int c = 0; c < channels; ++c) {
        if (c + pre_pad < channels) add(c + pre_pad, 1.f);
        if (c - pre_pad - 1 >= 0) add(c - pre_pad - 1, -1.f);
        emit(c, window.data(), offset + int64_t(c) * plane, width);
      }
    }
  });
}

void LrnLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const float* x = bottom[0]->cpu_data();
  float* y = top[0]->mutable_cpu_data();
  const int64_t count = bottom[0]->count();
  const int64_t plane = int64_t(height_) * width_;
  float* scale = scale_.mutable_cpu_data();
  if (across_) {
    const float k = k_, alpha_over_size = alpha_ / size_;
    SlideChannelWindows(x, /*squared=*/true,
                        [=](int, const float* window, int64_t offset, int64_t width) {
                          float* s = scale + offset;
                          for (int64_t j = 0; j < width; ++j) {
                            s[j] = k + alpha_over_size * window[j];
                          }
                        });
  } else {
    const float alpha = alpha_;
    ParallelForRows(int64_t(num_) * channels_, plane, [&](int64_t p0, int64_t p1) {
      std::vector<float> squares(plane);
      for (int64_t p = p0; p < p1; ++p) {
        const float* xp = x + p * plane;
        for (int64_t j = 0; j < plane; ++j) squares[j] = xp[j] * xp[j];
        float* s = scale + p * plane;
        WindowAverage(squares.data(), s);
        for (int64_t j = 0; j < plane; ++j) s[j] = 1.f + alpha * s[j];
      }
    });
  }
  const float beta = beta_;
  ParallelForElements(count, [=](int64_t lo, int64_t hi) {
    MultiplyByScalePower(lo, hi, x, scale, beta, y);
  });
}

void LrnLayer::BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                            const BlobVec& bottom) {
  if (!propagate_down[0]) return;
  const float* x = bottom[0]->cpu_data();
  const float* y = top[0]->cpu_data();
  const float* dy = top[0]->cpu_diff();
  float* dx = bottom[0]->mutable_cpu_diff();
  const int64_t count = bottom[0]->count();
  const int64_t plane = int64_t(height_) * width_;
  const float* scale = scale_.cpu_data();
  // With r = dy * y / scale, dx = dy * scale^-beta - 2 * alpha * beta / n * x *
  // (sum of r over every window containing x). Windows are symmetric (odd n),
  // so that sum is the same window sum taken around x.
  std::vector<float> ratio(count);
  float* r = ratio.data();
  ParallelForElements(count, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) r[i] = dy[i] * y[i] / scale[i];
  });
  const float beta = beta_;
  // dx = dy * scale^-beta first, then the window term is subtracted.
  ParallelForElements(count, [=](int64_t lo, int64_t hi) {
    MultiplyByScalePower(lo, hi, dy, scale, beta, dx);
  });
  if (across_) {
    const float factor = 2.f * alpha_ * beta_ / size_;
    SlideChannelWindows(r, /*squared=*/false,
                        [=](int, const float* window, int64_t offset, int64_t width) {
                          for (int64_t j = 0; j < width; ++j) {
                            dx[offset + j] -= factor * x[offset + j] * window[j];
                          }
                        });
  } else {
    // WindowAverage divides by the padded window area, which is the same
    // n*n for every window when n is odd and the pad is (n-1)/2.
    const float factor = 2.f * alpha_ * beta_;
    ParallelForRows(int64_t(num_) * channels_, plane, [&](int64_t p0, int64_t p1) {
      std::vector<float> sums(plane);
      for (int64_t p = p0; p < p1; ++p) {
        WindowAverage(r + p * plane, sums.data());
        for (int64_t j = 0; j < plane; ++j) {
          dx[p * plane + j] -= factor * x[p * plane + j] * sums[j];
        }
      }
    });
  }
}

#ifdef CORTADO_WITH_CUDA
void LrnLayer::ForwardGpu(const BlobVec& bottom, const BlobVec& top) {
  LrnForwardGpu(bottom[0]->count(), channels_, height_, width_, size_, across_, alpha_, beta_,
                k_, bottom[0]->gpu_data(), scale_.mutable_gpu_data(),
                top[0]->mutable_gpu_data());
}

void LrnLayer::BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                           const BlobVec& bottom) {
  if (!propagate_down[0]) return;
  ratio_gpu_.ReshapeLike(*bottom[0]);
  LrnBackwardGpu(bottom[0]->count(), channels_, height_, width_, size_, across_, alpha_, beta_,
                 bottom[0]->gpu_data(), top[0]->gpu_data(), top[0]->gpu_diff(),
                 scale_.gpu_data(), ratio_gpu_.mutable_gpu_data(),
                 bottom[0]->mutable_gpu_diff());
}
#endif

CORTADO_REGISTER_LAYER(LRN, LrnLayer)

}  // namespace cortado
