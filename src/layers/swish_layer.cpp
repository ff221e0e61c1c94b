// Swish: y = x * sigmoid(beta * x), with a fixed (not learned) beta.
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class SwishLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "Swish"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    beta_ = layer_param_.swish_param().beta();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
    sigmoid_.Reshape(bottom[0]->shape());
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    float* s = sigmoid_.mutable_cpu_data();
    const float half_beta = 0.5f * beta_;
    // The tanh form of the sigmoid never overflows.
    for (int64_t i = 0; i < n; ++i) {
      s[i] = 0.5f * std::tanh(half_beta * x[i]) + 0.5f;
      y[i] = x[i] * s[i];
    }
  }

  // dy/dx = s + beta * x * s * (1 - s) = beta * y + s * (1 - beta * y),
  // which reads only y and s, so it works in place.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    const float* y = top[0]->cpu_data();
    const float* s = sigmoid_.cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float beta = beta_;
    for (int64_t i = 0; i < n; ++i) {
      const float by = beta * y[i];
      dx[i] = dy[i] * (by + s[i] * (1.f - by));
    }
  }

 private:
  float beta_ = 1;
  Blob sigmoid_;  // sigmoid(beta * x), kept for the backward pass
};

}  // namespace

CORTADO_REGISTER_LAYER(Swish, SwishLayer)

}  // namespace cortado
