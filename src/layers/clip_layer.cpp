// Clip: y = min(max(x, min), max).
#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// clip_layer.cu
void ClipForwardGpu(int64_t n, const float* x, float lo, float hi, float* y);
void ClipBackwardGpu(int64_t n, const float* dy, const float* x, float lo, float hi, float* dx);
#endif

namespace {

class ClipLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Clip"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    if (!layer_param_.has_clip_param()) {
      ThrowError(ErrorPrefix(), "needs clip_param { min: ... max: ... }");
    }
    min_ = layer_param_.clip_param().min();
    max_ = layer_param_.clip_param().max();
    if (min_ > max_) {
      ThrowError(ErrorPrefix(), "clip_param.min ", min_, " is greater than clip_param.max ",
                 max_);
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const float lo = min_, hi = max_;
    for (int64_t i = 0; i < n; ++i) y[i] = ClipValue(x[i], lo, hi);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    CheckNotInPlace(top, bottom);
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float lo = min_, hi = max_;
    for (int64_t i = 0; i < n; ++i) dx[i] = ClipGradient(dy[i], x[i], lo, hi);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    ClipForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), min_, max_,
                   top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    CheckNotInPlace(top, bottom);
    ClipBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), bottom[0]->gpu_data(), min_, max_,
                    bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  // In place every y lies in [min, max]: which x were clipped is lost.
  void CheckNotInPlace(const BlobVec& top, const BlobVec& bottom) const {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place; give the layer its own top");
    }
  }

  float min_ = 0;
  float max_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(Clip, ClipLayer)

}  // namespace cortado
