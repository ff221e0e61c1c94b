// Power: y = (shift + scale * x) ^ power.
#include <cmath>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class PowerLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "Power"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::PowerParameter& p = layer_param_.power_param();
    power_ = p.power();
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
    const float power = power_, scale = scale_, shift = shift_;
    if (power == 1) {
      for (int64_t i = 0; i < n; ++i) y[i] = shift + scale * x[i];
    } else if (power == 2) {
      for (int64_t i = 0; i < n; ++i) {
        const float u = shift + scale * x[i];
        y[i] = u * u;
      }
    } else {
      for (int64_t i = 0; i < n; ++i) y[i] = std::pow(shift + scale * x[i], power);
    }
  }

  // dy/dx = power * scale * (shift + scale * x) ^ (power - 1).
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float power = power_, scale = scale_, shift = shift_;
    const float diff_scale = power * scale;
    if (ConstantDerivative()) {
      for (int64_t i = 0; i < n; ++i) dx[i] = diff_scale * dy[i];
      return;
    }
    // In place, x has been overwritten by y; inference in place is fine.
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place with power ", power_,
                 "; give the layer its own top");
    }
    const float* x = bottom[0]->cpu_data();
    if (power == 2) {
      for (int64_t i = 0; i < n; ++i) dx[i] = diff_scale * (shift + scale * x[i]) * dy[i];
    } else {
      for (int64_t i = 0; i < n; ++i) {
        dx[i] = diff_scale * std::pow(shift + scale * x[i], power - 1.f) * dy[i];
      }
    }
  }

 private:
  bool ConstantDerivative() const { return power_ == 1 || power_ * scale_ == 0; }

  float power_ = 1;
  float scale_ = 1;
  float shift_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(Power, PowerLayer)

}  // namespace cortado
