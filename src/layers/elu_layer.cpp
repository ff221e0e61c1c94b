// ELU: y = x for x > 0, alpha * (exp(x) - 1) otherwise.
#include <cmath>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class EluLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "ELU"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    alpha_ = layer_param_.elu_param().alpha();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const float alpha = alpha_;
    for (int64_t i = 0; i < n; ++i) {
      y[i] = x[i] > 0 ? x[i] : alpha * (std::exp(x[i]) - 1.f);
    }
  }

  // dy/dx = alpha * exp(x) = y + alpha on the negative side, so only y is
  // read there. In place, `x` below is y; y > 0 exactly when x > 0 for
  // alpha >= 0, so the branch is still right.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    if (top[0] == bottom[0] && alpha_ < 0) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place with elu_param.alpha ", alpha_,
                 " < 0; give the layer its own top");
    }
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    const float* y = top[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float alpha = alpha_;
    for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0 ? dy[i] : dy[i] * (y[i] + alpha);
  }

 private:
  float alpha_ = 1;
};

}  // namespace

CORTADO_REGISTER_LAYER(ELU, EluLayer)

}  // namespace cortado
