// Normalize (SSD): divides each sample (across_spatial) or each spatial
// position's channel vector by its L2 norm sqrt(sum x^2 + eps), then
// multiplies by a learned scale, one per channel or shared.
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "cortado/filler.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "normalize_math.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// normalize_layer.cu. x is num x channels x spatial; norms has one entry per
// group (num, or num x spatial); scale_count is 1 (shared) or channels.
void NormalizeForwardGpu(int num, int channels, int64_t spatial, bool across_spatial,
                         float eps, const float* x, const float* scale, int scale_count,
                         float* norms, float* y);
void NormalizeBackwardGpu(int num, int channels, int64_t spatial, bool across_spatial,
                          const float* x, const float* dy, const float* scale, int scale_count,
                          const float* norms, float* dx);
// Adds each scale's gradient to scale_diff.
void NormalizeScaleBackwardGpu(int num, int channels, int64_t spatial, bool across_spatial,
                               const float* x, const float* dy, const float* norms,
                               int scale_count, float* scale_diff);
#endif

namespace {

class NormalizeLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Normalize"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::NormalizeParameter& p = layer_param_.norm_param();
    across_spatial_ = p.across_spatial();
    channel_shared_ = p.channel_shared();
    eps_ = p.eps();
    if (bottom[0]->num_axes() < 2) {
      ThrowError(ErrorPrefix(), "bottom of shape ", bottom[0]->shape_string(),
                 " needs a channel axis (axis 1)");
    }
    const int channels = bottom[0]->shape(1);
    const int64_t scales = channel_shared_ ? 1 : channels;
    if (!blobs_.empty()) {
      if (blobs_.size() != 1 || blobs_[0]->count() != scales) {
        ThrowError(ErrorPrefix(), "expects one scale blob of ", scales,
                   " value(s) (norm_param.channel_shared: ", channel_shared_ ? "true" : "false",
                   "), got ", blobs_.size(), " blob(s) of shape ", blobs_[0]->shape_string());
      }
      return;
    }
    // A shared scale is a scalar blob (no axes), as in SSD's caffemodels.
    blobs_.push_back(
        std::make_unique<Blob>(channel_shared_ ? std::vector<int>{} : std::vector<int>{channels}));
    if (p.has_scale_filler()) {
      FillBlob(p.scale_filler(), blobs_[0].get());
    } else {
      Set(blobs_[0]->count(), 1.f, blobs_[0]->mutable_cpu_data());
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    if (in.num_axes() < 2 || (!channel_shared_ && in.shape(1) != blobs_[0]->count())) {
      ThrowError(ErrorPrefix(), "bottom of shape ", in.shape_string(), " does not match ",
                 blobs_[0]->count(), " scale(s)");
    }
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    top[0]->ReshapeLike(in);
    norms_.Reshape(
        std::vector<int>{static_cast<int>(in.shape(0) * (across_spatial_ ? 1 : in.count(2)))});
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    const int num = in.shape(0), channels = in.shape(1);
    const int64_t spatial = in.count(2);
    const float* x = in.cpu_data();
    const float* scale = blobs_[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    for (int n = 0; n < num; ++n) {
      const float* xn = x + n * channels * spatial;
      float* norm = norms_.mutable_cpu_data() + (across_spatial_ ? n : n * spatial);
      if (across_spatial_) {
        norm[0] = std::sqrt(SumSquares(channels * spatial, xn) + eps_);
      } else {
        for (int64_t s = 0; s < spatial; ++s) {
          double sum = 0;
          for (int c = 0; c < channels; ++c)
            sum += double(xn[c * spatial + s]) * xn[c * spatial + s];
          norm[s] = NormalizeNorm(sum, eps_);
        }
      }
      for (int c = 0; c < channels; ++c) {
        const float a = scale[channel_shared_ ? 0 : c];
        for (int64_t s = 0; s < spatial; ++s) {
          const int64_t i = c * spatial + s;
          y[n * channels * spatial + i] = NormalizeValue(a, xn[i], norm[across_spatial_ ? 0 : s]);
        }
      }
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    const Blob& in = *bottom[0];
    const int num = in.shape(0), channels = in.shape(1);
    const int64_t spatial = in.count(2);
    const float* x = in.cpu_data();
    const float* dy = top[0]->cpu_diff();
    const float* scale = blobs_[0]->cpu_data();
    const int groups = across_spatial_ ? 1 : static_cast<int>(spatial);
    std::vector<double> dots(groups);
    for (int n = 0; n < num; ++n) {
      const int64_t base = static_cast<int64_t>(n) * channels * spatial;
      const float* norm = norms_.cpu_data() + (across_spatial_ ? n : n * spatial);
      auto group = [&](int64_t s) { return across_spatial_ ? 0 : s; };
      if (param_propagate_down(0)) {
        float* da = blobs_[0]->mutable_cpu_diff();
        for (int c = 0; c < channels; ++c) {
          double sum = 0;
          for (int64_t s = 0; s < spatial; ++s) {
            const int64_t i = base + c * spatial + s;
            sum += NormalizeScaleTerm(dy[i], x[i], norm[group(s)]);
          }
          da[channel_shared_ ? 0 : c] += static_cast<float>(sum);
        }
      }
      if (!propagate_down[0]) continue;
      std::fill(dots.begin(), dots.end(), 0.0);
      for (int c = 0; c < channels; ++c) {
        const float a = scale[channel_shared_ ? 0 : c];
        for (int64_t s = 0; s < spatial; ++s) {
          const int64_t i = base + c * spatial + s;
          dots[group(s)] += NormalizeDotTerm(a, dy[i], x[i]);
        }
      }
      float* dx = bottom[0]->mutable_cpu_diff();
      for (int c = 0; c < channels; ++c) {
        const float a = scale[channel_shared_ ? 0 : c];
        for (int64_t s = 0; s < spatial; ++s) {
          const int64_t i = base + c * spatial + s;
          dx[i] = NormalizeGradient(a, dy[i], x[i], norm[group(s)], dots[group(s)]);
        }
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    NormalizeForwardGpu(in.shape(0), in.shape(1), in.count(2), across_spatial_, eps_,
                        in.gpu_data(), blobs_[0]->gpu_data(), blobs_[0]->count(),
                        norms_.mutable_gpu_data(), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    const Blob& in = *bottom[0];
    if (param_propagate_down(0)) {
      NormalizeScaleBackwardGpu(in.shape(0), in.shape(1), in.count(2), across_spatial_,
                                in.gpu_data(), top[0]->gpu_diff(), norms_.gpu_data(),
                                blobs_[0]->count(), blobs_[0]->mutable_gpu_diff());
    }
    if (propagate_down[0]) {
      NormalizeBackwardGpu(in.shape(0), in.shape(1), in.count(2), across_spatial_,
                           in.gpu_data(), top[0]->gpu_diff(), blobs_[0]->gpu_data(),
                           blobs_[0]->count(), norms_.gpu_data(), bottom[0]->mutable_gpu_diff());
    }
  }
#endif

 private:
  bool across_spatial_ = true;
  bool channel_shared_ = true;
  float eps_ = 1e-10f;
  Blob norms_;  // per sample, or per sample and position
};

}  // namespace

CORTADO_REGISTER_LAYER(Normalize, NormalizeLayer)

}  // namespace cortado
