// Power: y = (shift + scale * x) ^ power.
#include "../util/elementwise_map.hpp"
#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

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
  // One body for both devices (ForwardGpu/BackwardGpu keep Layer's
  // defaults); the form is chosen once per pass, outside the loop.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const bool gpu = runs_on_cuda();
    const int64_t n = bottom[0]->count();
    const float* x = gpu ? bottom[0]->gpu_data() : bottom[0]->cpu_data();
    float* y = gpu ? top[0]->mutable_gpu_data() : top[0]->mutable_cpu_data();
    switch (PowerFormOf(power_)) {
      case PowerForm::kLinear:
        return Forward<PowerForm::kLinear>(gpu, n, x, y);
      case PowerForm::kSquare:
        return Forward<PowerForm::kSquare>(gpu, n, x, y);
      case PowerForm::kGeneral:
        return Forward<PowerForm::kGeneral>(gpu, n, x, y);
    }
  }

  // dy/dx = power * scale * (shift + scale * x) ^ (power - 1).
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const bool gpu = runs_on_cuda();
    const PowerForm form = BackwardForm(top, bottom);
    const int64_t n = bottom[0]->count();
    const float* dy = gpu ? top[0]->gpu_diff() : top[0]->cpu_diff();
    float* dx = gpu ? bottom[0]->mutable_gpu_diff() : bottom[0]->mutable_cpu_diff();
    // kLinear never reads x (in place it is gone): dy stands in for it.
    const float* x = form == PowerForm::kLinear ? dy
                     : gpu                      ? bottom[0]->gpu_data()
                                                : bottom[0]->cpu_data();
    switch (form) {
      case PowerForm::kLinear:
        return Backward<PowerForm::kLinear>(gpu, n, dy, x, dx);
      case PowerForm::kSquare:
        return Backward<PowerForm::kSquare>(gpu, n, dy, x, dx);
      case PowerForm::kGeneral:
        return Backward<PowerForm::kGeneral>(gpu, n, dy, x, dx);
    }
  }

 private:
  template <PowerForm kForm>
  void Forward(bool gpu, int64_t n, const float* x, float* y) const {
    ElementwiseMap(gpu, n, PowerForwardOp<kForm>{x, y, power_, scale_, shift_});
  }

  template <PowerForm kForm>
  void Backward(bool gpu, int64_t n, const float* dy, const float* x, float* dx) const {
    ElementwiseMap(gpu, n,
                   PowerBackwardOp<kForm>{dy, x, dx, power_, scale_, shift_, power_ * scale_});
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
