// AbsVal: y = |x|.
#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// absval_layer.cu
void AbsValForwardGpu(int64_t n, const float* x, float* y);
void AbsValBackwardGpu(int64_t n, const float* dy, const float* x, float* dx);
#endif

namespace {

class AbsValLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "AbsVal"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    // Backward needs the sign of x, which |x| has lost.
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    for (int64_t i = 0; i < n; ++i) y[i] = AbsValValue(x[i]);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    for (int64_t i = 0; i < n; ++i) dx[i] = AbsValGradient(dy[i], x[i]);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    AbsValForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    AbsValBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), bottom[0]->gpu_data(),
                      bottom[0]->mutable_gpu_diff());
  }
#endif
};

}  // namespace

CORTADO_REGISTER_LAYER(AbsVal, AbsValLayer)

}  // namespace cortado
