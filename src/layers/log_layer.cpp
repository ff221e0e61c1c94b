// Log: y = log_base(shift + scale * x); base -1 (the default) means e.
#include <cmath>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class LogLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "Log"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::LogParameter& p = layer_param_.log_param();
    const float base = p.base();
    if (base != -1 && !(base > 0)) {
      ThrowError(ErrorPrefix(), "log_param.base ", base,
                 " must be positive, or -1 for base e");
    }
    // log_b(u) = ln(u) / ln(b).
    base_scale_ = base == -1 ? 1.f : 1.f / std::log(base);
    scale_ = p.scale();
    shift_ = p.shift();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const float scale = scale_, shift = shift_, base_scale = base_scale_;
    for (int64_t i = 0; i < n; ++i) y[i] = std::log(shift + scale * x[i]) * base_scale;
  }

  // dy/dx = scale / (ln(base) * (shift + scale * x)).
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    // In place, x has been overwritten by y; inference in place is fine.
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place; give the layer its own top");
    }
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float scale = scale_, shift = shift_;
    const float numerator = scale_ * base_scale_;
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * numerator / (shift + scale * x[i]);
  }

 private:
  float base_scale_ = 1;
  float scale_ = 1;
  float shift_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(Log, LogLayer)

}  // namespace cortado
