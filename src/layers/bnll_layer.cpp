// BNLL (binomial normal log likelihood): y = log(1 + exp(x)), the softplus.
#include <algorithm>
#include <cmath>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

// exp() of larger inputs only rounds the sigmoid to 1 (and may overflow).
constexpr float kExpClamp = 50.f;

class BnllLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "BNLL"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  // For x > 0 the form x + log(1 + exp(-x)) keeps exp() from overflowing.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    for (int64_t i = 0; i < n; ++i) {
      y[i] = x[i] > 0 ? x[i] + std::log1p(std::exp(-x[i])) : std::log1p(std::exp(x[i]));
    }
  }

  // dy/dx = sigmoid(x).
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place; give the layer its own top");
    }
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    for (int64_t i = 0; i < n; ++i) {
      const float e = std::exp(std::min(x[i], kExpClamp));
      dx[i] = dy[i] * e / (e + 1.f);
    }
  }
};

}  // namespace

CORTADO_REGISTER_LAYER(BNLL, BnllLayer)

}  // namespace cortado
