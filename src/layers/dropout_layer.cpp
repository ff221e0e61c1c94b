// Dropout: in training, zeroes each value with probability dropout_ratio
// and scales the kept ones by 1 / (1 - ratio); in testing, passes through.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "cortado/rng.hpp"
#include "dropout_math.hpp"
#include "../util/elementwise_map.hpp"

namespace cortado {
namespace {

class DropoutLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Dropout"; }
  // Backward reads the stored mask only.
  bool BackwardReadsBottomData(int) const override { return false; }
  bool BackwardReadsTopData(int) const override { return false; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::DropoutParameter& param = layer_param_.dropout_param();
    DeclareInternalBlob(&mask_);
    ratio_ = param.dropout_ratio();
    if (!(ratio_ >= 0.f && ratio_ < 1.f)) {
      ThrowError(ErrorPrefix(), "dropout_param.dropout_ratio must be in [0, 1), got ",
                 ratio_);
    }
    // Either training or testing carries the expectation-preserving factor.
    if (param.scale_train()) {
      train_scale_ = 1.f / (1.f - ratio_);
      test_scale_ = 1.f;
    } else {
      train_scale_ = 1.f;
      test_scale_ = 1.f - ratio_;
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
    // One byte per element, in as many floats as hold them.
    const int64_t floats = (bottom[0]->count() + 3) / 4;
    mask_.Reshape(std::vector<int>{phase_ == caffe::TRAIN ? static_cast<int>(floats) : 0});
  }

 protected:
  // One body for both devices (ForwardGpu/BackwardGpu keep Layer's defaults).
  // The mask comes from a counter-based stream keyed by one draw of the
  // global RNG, so it is computed in parallel, and the CPU and a GPU drop the
  // same values for the same seed.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const bool gpu = runs_on_cuda();
    const int64_t n = bottom[0]->count();
    const float* x = gpu ? bottom[0]->gpu_data() : bottom[0]->cpu_data();
    float* y = gpu ? top[0]->mutable_gpu_data() : top[0]->mutable_cpu_data();
    if (phase_ != caffe::TRAIN) {
      ScaleOrCopy(gpu, n, test_scale_, x, y);
      return;
    }
    RandomEngine& rng = GlobalRng();
    const uint64_t key = (static_cast<uint64_t>(rng()) << 32) | rng();
    uint8_t* mask = reinterpret_cast<uint8_t*>(gpu ? mask_.mutable_gpu_data()
                                                   : mask_.mutable_cpu_data());
    ElementwiseMap(gpu, n,
                   DropoutForwardOp{x, y, mask, key, CounterRandomThreshold(1.f - ratio_),
                                    train_scale_});
  }

  // Reads only the stored mask, so it works in place.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const bool gpu = runs_on_cuda();
    const int64_t n = bottom[0]->count();
    const float* dy = gpu ? top[0]->gpu_diff() : top[0]->cpu_diff();
    float* dx = gpu ? bottom[0]->mutable_gpu_diff() : bottom[0]->mutable_cpu_diff();
    if (phase_ != caffe::TRAIN) {
      ScaleOrCopy(gpu, n, test_scale_, dy, dx);
      return;
    }
    const uint8_t* mask =
        reinterpret_cast<const uint8_t*>(gpu ? mask_.gpu_data() : mask_.cpu_data());
    ElementwiseMap(gpu, n, DropoutBackwardOp{dy, dx, mask, train_scale_});
  }

 private:
  // y = scale * x (x may be y).
  static void ScaleOrCopy(bool gpu, int64_t n, float scale, const float* x, float* y) {
    if (gpu) {
#ifdef CORTADO_WITH_CUDA
      gpu::Scale(n, scale, x, y);
#endif
      return;
    }
    if (scale == 1.f) {
      if (x != y) Copy(n, x, y);
      return;
    }
    Scale(n, scale, x, y);
  }

  float ratio_ = 0.5f;
  float train_scale_ = 2.f;
  float test_scale_ = 1.f;
  // One keep byte per element, TRAIN only, stored in a float blob's bytes:
  // an internal blob, placed by the net's memory planner.
  Blob mask_;
};

}  // namespace

CORTADO_REGISTER_LAYER(Dropout, DropoutLayer)

}  // namespace cortado
