// MVN: mean-variance normalisation of each item's channels (or of each item
// across channels): y = (x - mean) / (std + eps), or just x - mean.
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class MvnLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "MVN"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::MVNParameter& p = layer_param_.mvn_param();
    normalize_variance_ = p.normalize_variance();
    across_channels_ = p.across_channels();
    eps_ = p.eps();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    top[0]->ReshapeLike(in);
    rows_ = across_channels_ ? in.num() : int64_t(in.num()) * in.channels();
    dim_ = rows_ == 0 ? 0 : in.count() / rows_;
    stddev_.assign(rows_, 0.f);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const int64_t dim = dim_;
    for (int64_t r = 0; r < rows_; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      double sum = 0;
      for (int64_t i = 0; i < dim; ++i) sum += xr[i];
      const float mean = static_cast<float>(sum / dim);
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] - mean;
      if (!normalize_variance_) continue;
      // The variance of the centred values, E[(x - mean)^2], which does not
      // cancel catastrophically the way E[x^2] - mean^2 can.
      double squares = 0;
      for (int64_t i = 0; i < dim; ++i) squares += double(yr[i]) * yr[i];
      stddev_[r] = std::sqrt(static_cast<float>(squares / dim));
      const float divisor = stddev_[r] + eps_;
      for (int64_t i = 0; i < dim; ++i) yr[i] /= divisor;
    }
  }

  // With variance: dx = (dy - mean(dy) - y * mean(y * dy) * (std + eps) / std)
  // / (std + eps); without: dx = dy - mean(dy). Reads only y, so it works in
  // place. BVLC drops the factor (std + eps) / std, which is 1 to float
  // precision at the default eps but not for a large one; this is the exact
  // gradient, so the gradient check holds for any eps.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const float* y = top[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const int64_t dim = dim_;
    for (int64_t r = 0; r < rows_; ++r) {
      const float* yr = y + r * dim;
      const float* dyr = dy + r * dim;
      float* dxr = dx + r * dim;
      double dy_sum = 0, ydy_sum = 0;
      for (int64_t i = 0; i < dim; ++i) {
        dy_sum += dyr[i];
        ydy_sum += double(yr[i]) * dyr[i];
      }
      const float dy_mean = static_cast<float>(dy_sum / dim);
      if (!normalize_variance_) {
        for (int64_t i = 0; i < dim; ++i) dxr[i] = dyr[i] - dy_mean;
        continue;
      }
      // A constant row has y = 0 and std = 0: the term vanishes.
      const float divisor = stddev_[r] + eps_;
      const float ydy_mean =
          stddev_[r] > 0 ? static_cast<float>(ydy_sum / dim) * divisor / stddev_[r] : 0.f;
      const float inv_stddev = 1.f / divisor;
      for (int64_t i = 0; i < dim; ++i) {
        dxr[i] = (dyr[i] - dy_mean - yr[i] * ydy_mean) * inv_stddev;
      }
    }
  }

 private:
  bool normalize_variance_ = true;
  bool across_channels_ = false;
  float eps_ = 1e-9f;
  int64_t rows_ = 0;  // vectors normalised independently
  int64_t dim_ = 0;   // values per vector
  std::vector<float> stddev_;  // per vector, without eps, for the backward pass
};

}  // namespace

CORTADO_REGISTER_LAYER(MVN, MvnLayer)

}  // namespace cortado
