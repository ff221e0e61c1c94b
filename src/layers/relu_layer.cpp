// ReLU: y = max(x, 0) + negative_slope * min(x, 0).
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "relu_math.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// relu_layer.cu
void ReluForwardGpu(int64_t n, const float* x, float slope, float* y);
void ReluBackwardGpu(int64_t n, const float* dy, const float* sign_source, float slope,
                     float* dx);
#endif

namespace {

class ReluLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

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
    for (int64_t i = 0; i < n; ++i) y[i] = ReluValue(x[i], slope);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const float* sign_source = SignSource(top, bottom)->cpu_data();
    const int64_t n = bottom[0]->count();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float slope = negative_slope_;
    for (int64_t i = 0; i < n; ++i) dx[i] = ReluGradient(dy[i], sign_source[i], slope);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    ReluForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), negative_slope_,
                   top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    ReluBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), SignSource(top, bottom)->gpu_data(),
                    negative_slope_, bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  // In place, x is gone; for slope >= 0, y > 0 exactly when x > 0, so y
  // decides the branch. A negative slope maps x < 0 to y > 0 and loses it.
  const Blob* SignSource(const BlobVec& top, const BlobVec& bottom) const {
    if (negative_slope_ >= 0) return top[0];
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place with negative_slope ",
                 negative_slope_, " < 0; give the layer its own top");
    }
    return bottom[0];
  }

  float negative_slope_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(ReLU, ReluLayer)

}  // namespace cortado
