// ELU: y = x for x > 0, alpha * (exp(x) - 1) otherwise.
#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// elu_layer.cu
void EluForwardGpu(int64_t n, const float* x, float alpha, float* y);
void EluBackwardGpu(int64_t n, const float* dy, const float* x, const float* y, float alpha,
                    float* dx);
#endif

namespace {

class EluLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

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
    for (int64_t i = 0; i < n; ++i) y[i] = EluValue(x[i], alpha);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    CheckInPlaceBackward(top, bottom);
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    const float* y = top[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float alpha = alpha_;
    for (int64_t i = 0; i < n; ++i) dx[i] = EluGradient(dy[i], x[i], y[i], alpha);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    EluForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), alpha_, top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    CheckInPlaceBackward(top, bottom);
    EluBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), bottom[0]->gpu_data(),
                   top[0]->gpu_data(), alpha_, bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  // In place, the gradient's `x` is y, which has x's sign only for alpha >= 0.
  void CheckInPlaceBackward(const BlobVec& top, const BlobVec& bottom) const {
    if (top[0] == bottom[0] && alpha_ < 0) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place with elu_param.alpha ", alpha_,
                 " < 0; give the layer its own top");
    }
  }

  float alpha_ = 1;
};

}  // namespace

CORTADO_REGISTER_LAYER(ELU, EluLayer)

}  // namespace cortado
