// Swish: y = x * sigmoid(beta * x), with a fixed (not learned) beta.
#include <vector>

#include "../util/elementwise_map.hpp"
#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

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
  // One body for both devices (ForwardGpu/BackwardGpu keep Layer's defaults).
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const bool gpu = runs_on_cuda();
    const float* x = gpu ? bottom[0]->gpu_data() : bottom[0]->cpu_data();
    float* y = gpu ? top[0]->mutable_gpu_data() : top[0]->mutable_cpu_data();
    float* s = gpu ? sigmoid_.mutable_gpu_data() : sigmoid_.mutable_cpu_data();
    ElementwiseMap(gpu, bottom[0]->count(), SwishForwardOp{x, y, s, 0.5f * beta_});
  }

  // Reads y and s only, so it works in place.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const bool gpu = runs_on_cuda();
    const float* y = gpu ? top[0]->gpu_data() : top[0]->cpu_data();
    const float* s = gpu ? sigmoid_.gpu_data() : sigmoid_.cpu_data();
    const float* dy = gpu ? top[0]->gpu_diff() : top[0]->cpu_diff();
    float* dx = gpu ? bottom[0]->mutable_gpu_diff() : bottom[0]->mutable_cpu_diff();
    ElementwiseMap(gpu, bottom[0]->count(), SwishBackwardOp{dy, y, s, dx, beta_});
  }

 private:
  float beta_ = 1;
  Blob sigmoid_;  // sigmoid(beta * x), kept for the backward pass
};

}  // namespace

CORTADO_REGISTER_LAYER(Swish, SwishLayer)

}  // namespace cortado
