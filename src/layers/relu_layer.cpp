// ReLU: y = max(x, 0) + negative_slope * min(x, 0).
#include <algorithm>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class ReluLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "ReLU"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    negative_slope_ = layer_param_.relu_param().negative_slope();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const float slope = negative_slope_;
    // Branch-free so it vectorises: signs are random, branches mispredict.
    for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.f) + slope * std::min(x[i], 0.f);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    // In place, x is gone; for slope >= 0, y > 0 exactly when x > 0, so y
    // decides the branch. A negative slope maps x < 0 to y > 0 and loses it.
    const bool in_place = top[0] == bottom[0];
    if (in_place && negative_slope_ < 0) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place with negative_slope ",
                 negative_slope_, " < 0; give the layer its own top");
    }
    const float* sign_source = negative_slope_ >= 0 ? top[0]->cpu_data() : bottom[0]->cpu_data();
    const int64_t n = bottom[0]->count();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float slope = negative_slope_;
    for (int64_t i = 0; i < n; ++i) {
      dx[i] = dy[i] * (float(sign_source[i] > 0) + slope * float(sign_source[i] <= 0));
    }
  }

 private:
  float negative_slope_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(ReLU, ReluLayer)

}  // namespace cortado
