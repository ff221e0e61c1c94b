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

namespace cortado {
namespace {

class NormalizeLayer : public Layer {
 public:
  using Layer::Layer;

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
    norms_.assign(static_cast<size_t>(in.shape(0)) * (across_spatial_ ? 1 : in.count(2)), 0.f);
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
      float* norm = norms_.data() + (across_spatial_ ? n : n * spatial);
      if (across_spatial_) {
        norm[0] = std::sqrt(SumSquares(channels * spatial, xn) + eps_);
      } else {
        for (int64_t s = 0; s < spatial; ++s) {
          double sum = 0;
          for (int c = 0; c < channels; ++c)
            sum += double(xn[c * spatial + s]) * xn[c * spatial + s];
          norm[s] = static_cast<float>(std::sqrt(sum + eps_));
        }
      }
      for (int c = 0; c < channels; ++c) {
        const float a = scale[channel_shared_ ? 0 : c];
        for (int64_t s = 0; s < spatial; ++s) {
          const int64_t i = c * spatial + s;
          y[n * channels * spatial + i] = a * xn[i] / norm[across_spatial_ ? 0 : s];
        }
      }
    }
  }

  // With y = a x / r and r = sqrt(sum x^2 + eps) over the group:
  //   dx = a dy / r - x (sum_group a dy x) / r^3,  da = sum dy x / r.
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
      const float* norm = norms_.data() + (across_spatial_ ? n : n * spatial);
      auto group = [&](int64_t s) { return across_spatial_ ? 0 : s; };
      if (param_propagate_down(0)) {
        float* da = blobs_[0]->mutable_cpu_diff();
        for (int c = 0; c < channels; ++c) {
          double sum = 0;
          for (int64_t s = 0; s < spatial; ++s) {
            const int64_t i = base + c * spatial + s;
            sum += double(dy[i]) * x[i] / norm[group(s)];
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
          dots[group(s)] += double(a) * dy[i] * x[i];
        }
      }
      float* dx = bottom[0]->mutable_cpu_diff();
      for (int c = 0; c < channels; ++c) {
        const float a = scale[channel_shared_ ? 0 : c];
        for (int64_t s = 0; s < spatial; ++s) {
          const int64_t i = base + c * spatial + s;
          const double r = norm[group(s)];
          dx[i] = static_cast<float>(a * dy[i] / r - x[i] * dots[group(s)] / (r * r * r));
        }
      }
    }
  }

 private:
  bool across_spatial_ = true;
  bool channel_shared_ = true;
  float eps_ = 1e-10f;
  std::vector<float> norms_;  // per sample, or per sample and position
};

}  // namespace

CORTADO_REGISTER_LAYER(Normalize, NormalizeLayer)

}  // namespace cortado
