// Swish: y = x * sigmoid(beta * x), with a fixed (not learned) beta.
#include <vector>

#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// swish_layer.cu
void SwishForwardGpu(int64_t n, const float* x, float half_beta, float* sigmoid, float* y);
void SwishBackwardGpu(int64_t n, const float* dy, const float* y, const float* sigmoid,
                      float beta, float* dx);
#endif

namespace {

class SwishLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

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
    for (int64_t i = 0; i < n; ++i) {
      s[i] = SwishSigmoid(x[i], half_beta);
      y[i] = x[i] * s[i];
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    const float* y = top[0]->cpu_data();
    const float* s = sigmoid_.cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float beta = beta_;
    for (int64_t i = 0; i < n; ++i) dx[i] = SwishGradient(dy[i], y[i], s[i], beta);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    SwishForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), 0.5f * beta_,
                    sigmoid_.mutable_gpu_data(), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    SwishBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), top[0]->gpu_data(),
                     sigmoid_.gpu_data(), beta_, bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  float beta_ = 1;
  Blob sigmoid_;  // sigmoid(beta * x), kept for the backward pass
};

}  // namespace

CORTADO_REGISTER_LAYER(Swish, SwishLayer)

}  // namespace cortado
