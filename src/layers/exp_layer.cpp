// Exp: y = base ^ (shift + scale * x); base -1 (the default) means e.
#include <cmath>

#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// exp_layer.cu
void ExpForwardGpu(int64_t n, const float* x, float inner, float outer, float* y);
void ExpBackwardGpu(int64_t n, const float* dy, const float* y, float inner, float* dx);
#endif

namespace {

class ExpLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Exp"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  // Rewritten as y = outer * exp(inner * x), so the loop is a single exp.
  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::ExpParameter& p = layer_param_.exp_param();
    const float base = p.base();
    if (base != -1 && !(base > 0)) {
      ThrowError(ErrorPrefix(), "exp_param.base ", base,
                 " must be positive, or -1 for base e");
    }
    const float log_base = base == -1 ? 1.f : std::log(base);
    inner_scale_ = log_base * p.scale();
    outer_scale_ = p.shift() == 0 ? 1.f
                   : base == -1   ? std::exp(p.shift())
                                  : std::pow(base, p.shift());
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const float inner = inner_scale_, outer = outer_scale_;
    for (int64_t i = 0; i < n; ++i) y[i] = ExpValue(x[i], inner, outer);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    const float* y = top[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float inner = inner_scale_;
    for (int64_t i = 0; i < n; ++i) dx[i] = ExpGradient(dy[i], y[i], inner);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    ExpForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), inner_scale_, outer_scale_,
                  top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    ExpBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), top[0]->gpu_data(), inner_scale_,
                   bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  float inner_scale_ = 1;
  float outer_scale_ = 1;
};

}  // namespace

CORTADO_REGISTER_LAYER(Exp, ExpLayer)

}  // namespace cortado
