// Sigmoid: y = 1 / (1 + exp(-x)).
#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// sigmoid_layer.cu
void SigmoidForwardGpu(int64_t n, const float* x, float* y);
void SigmoidBackwardGpu(int64_t n, const float* dy, const float* y, float* dx);
#endif

namespace {

class SigmoidLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Sigmoid"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    for (int64_t i = 0; i < n; ++i) y[i] = SigmoidValue(x[i]);
  }

  // Reads only y, so it works in place.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    const float* y = top[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    for (int64_t i = 0; i < n; ++i) dx[i] = SigmoidGradient(dy[i], y[i]);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    SigmoidForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    SigmoidBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), top[0]->gpu_data(),
                       bottom[0]->mutable_gpu_diff());
  }
#endif
};

}  // namespace

CORTADO_REGISTER_LAYER(Sigmoid, SigmoidLayer)

}  // namespace cortado
