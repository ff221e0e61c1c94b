// Log: y = log_base(shift + scale * x); base -1 (the default) means e.
#include <cmath>

#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// log_layer.cu
void LogForwardGpu(int64_t n, const float* x, float scale, float shift, float base_scale,
                   float* y);
void LogBackwardGpu(int64_t n, const float* dy, const float* x, float scale, float shift,
                    float numerator, float* dx);
#endif

namespace {

class LogLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Log"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::LogParameter& p = layer_param_.log_param();
    const float base = p.base();
    if (base != -1 && !(base > 0)) {
      ThrowError(ErrorPrefix(), "log_param.base ", base,
                 " must be positive, or -1 for base e");
    }
    // log_b(u) = ln(u) / ln(b).
    base_scale_ = base == -1 ? 1.f : 1.f / std::log(base);
    scale_ = p.scale();
    shift_ = p.shift();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const float scale = scale_, shift = shift_, base_scale = base_scale_;
    for (int64_t i = 0; i < n; ++i) y[i] = LogValue(x[i], scale, shift, base_scale);
  }

  // dy/dx = scale / (ln(base) * (shift + scale * x)).
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    CheckNotInPlace(top, bottom);
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float scale = scale_, shift = shift_;
    const float numerator = scale_ * base_scale_;
    for (int64_t i = 0; i < n; ++i) dx[i] = LogGradient(dy[i], x[i], scale, shift, numerator);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    LogForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), scale_, shift_, base_scale_,
                  top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    CheckNotInPlace(top, bottom);
    LogBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), bottom[0]->gpu_data(), scale_, shift_,
                   scale_ * base_scale_, bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  // In place, x has been overwritten by y; inference in place is fine.
  void CheckNotInPlace(const BlobVec& top, const BlobVec& bottom) const {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place; give the layer its own top");
    }
  }

  float base_scale_ = 1;
  float scale_ = 1;
  float shift_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(Log, LogLayer)

}  // namespace cortado
