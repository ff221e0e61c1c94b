// BNLL (binomial normal log likelihood): y = log(1 + exp(x)), the softplus.
#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// bnll_layer.cu
void BnllForwardGpu(int64_t n, const float* x, float* y);
void BnllBackwardGpu(int64_t n, const float* dy, const float* x, float* dx);
#endif

namespace {

class BnllLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "BNLL"; }
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
    for (int64_t i = 0; i < n; ++i) y[i] = BnllValue(x[i]);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    CheckNotInPlace(top, bottom);
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    for (int64_t i = 0; i < n; ++i) dx[i] = BnllGradient(dy[i], x[i]);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    BnllForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    CheckNotInPlace(top, bottom);
    BnllBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), bottom[0]->gpu_data(),
                    bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  // Backward reads x, which an in-place forward has overwritten.
  void CheckNotInPlace(const BlobVec& top, const BlobVec& bottom) const {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place; give the layer its own top");
    }
  }
};

}  // namespace

CORTADO_REGISTER_LAYER(BNLL, BnllLayer)

}  // namespace cortado
