// Threshold: y = 1 where x > threshold, else 0. A step has no useful
// gradient, so there is no backward pass (as in BVLC Caffe).
#include "activation_math.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// threshold_layer.cu
void ThresholdForwardGpu(int64_t n, const float* x, float threshold, float* y);
#endif

namespace {

class ThresholdLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Threshold"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    threshold_ = layer_param_.threshold_param().threshold();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const float threshold = threshold_;
    for (int64_t i = 0; i < n; ++i) y[i] = ThresholdValue(x[i], threshold);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[0]) {
      ThrowError(ErrorPrefix(), "has no backward pass; set propagate_down: false on it or "
                 "keep it out of the gradient path");
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    ThresholdForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), threshold_,
                        top[0]->mutable_gpu_data());
  }
  // BackwardGpu keeps the default: BackwardImpl only checks propagate_down.
#endif

 private:
  float threshold_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(Threshold, ThresholdLayer)

}  // namespace cortado
