// Power: y = (shift + scale * x) ^ power.
#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// power_layer.cu
void PowerForwardGpu(PowerForm form, int64_t n, const float* x, float power, float scale,
                     float shift, float* y);
void PowerBackwardGpu(PowerForm form, int64_t n, const float* dy, const float* x, float power,
                      float scale, float shift, float* dx);
#endif

namespace {

class PowerLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Power"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::PowerParameter& p = layer_param_.power_param();
    power_ = p.power();
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
    switch (PowerFormOf(power_)) {
      case PowerForm::kLinear:
        return ForwardLoop<PowerForm::kLinear>(n, x, y);
      case PowerForm::kSquare:
        return ForwardLoop<PowerForm::kSquare>(n, x, y);
      case PowerForm::kGeneral:
        return ForwardLoop<PowerForm::kGeneral>(n, x, y);
    }
  }

  // dy/dx = power * scale * (shift + scale * x) ^ (power - 1).
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const PowerForm form = BackwardForm(top, bottom);
    const int64_t n = bottom[0]->count();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    // kLinear never reads x (in place it is gone): dy stands in for it.
    const float* x = form == PowerForm::kLinear ? dy : bottom[0]->cpu_data();
    switch (form) {
      case PowerForm::kLinear:
        return BackwardLoop<PowerForm::kLinear>(n, dy, x, dx);
      case PowerForm::kSquare:
        return BackwardLoop<PowerForm::kSquare>(n, dy, x, dx);
      case PowerForm::kGeneral:
        return BackwardLoop<PowerForm::kGeneral>(n, dy, x, dx);
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    PowerForwardGpu(PowerFormOf(power_), bottom[0]->count(), bottom[0]->gpu_data(), power_,
                    scale_, shift_, top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const PowerForm form = BackwardForm(top, bottom);
    const float* dy = top[0]->gpu_diff();
    const float* x = form == PowerForm::kLinear ? dy : bottom[0]->gpu_data();
    PowerBackwardGpu(form, bottom[0]->count(), dy, x, power_, scale_, shift_,
                     bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  template <PowerForm kForm>
  void ForwardLoop(int64_t n, const float* x, float* y) const {
    const float power = power_, scale = scale_, shift = shift_;
    for (int64_t i = 0; i < n; ++i) y[i] = PowerValue<kForm>(x[i], power, scale, shift);
  }

  template <PowerForm kForm>
  void BackwardLoop(int64_t n, const float* dy, const float* x, float* dx) const {
    const float power = power_, scale = scale_, shift = shift_;
    const float diff_scale = power * scale;
    for (int64_t i = 0; i < n; ++i) {
      dx[i] = PowerGradient<kForm>(dy[i], x[i], power, scale, shift, diff_scale);
    }
  }

  // The gradient's form: kLinear whenever it is a constant multiple of dy.
  // Otherwise it reads x, which an in-place forward has overwritten by y
  // (inference in place is fine).
  PowerForm BackwardForm(const BlobVec& top, const BlobVec& bottom) const {
    if (power_ == 1 || power_ * scale_ == 0) return PowerForm::kLinear;
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place with power ", power_,
                 "; give the layer its own top");
    }
    return PowerFormOf(power_);
  }

  float power_ = 1;
  float scale_ = 1;
  float shift_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(Power, PowerLayer)

}  // namespace cortado
