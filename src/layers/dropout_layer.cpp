// Dropout: in training, zeroes each value with probability dropout_ratio
// and scales the kept ones by 1 / (1 - ratio); in testing, passes through.
#include <memory>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "cortado/rng.hpp"
#include "cortado/synced_memory.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// dropout_layer.cu
void DropoutApplyGpu(int64_t n, const float* x, const unsigned* mask, float scale, float* y);
#endif
namespace {

class DropoutLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Dropout"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::DropoutParameter& param = layer_param_.dropout_param();
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
    if (phase_ == caffe::TRAIN) mask_.resize(bottom[0]->count());
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    if (phase_ != caffe::TRAIN) {
      if (x != y) Copy(n, x, y);
      if (test_scale_ != 1.f) Scale(n, test_scale_, y);
      return;
    }
    unsigned* mask = mask_.data();
    RngBernoulli(n, 1.f - ratio_, mask);
    const float scale = train_scale_;
    for (int64_t i = 0; i < n; ++i) y[i] = mask[i] ? x[i] * scale : 0.f;
  }

  // Reads only the stored mask, so it works in place.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    if (phase_ != caffe::TRAIN) {
      Scale(n, test_scale_, dy, dx);
      return;
    }
    const unsigned* mask = mask_.data();
    const float scale = train_scale_;
    for (int64_t i = 0; i < n; ++i) dx[i] = mask[i] ? dy[i] * scale : 0.f;
  }

#ifdef CORTADO_WITH_CUDA
  // The mask comes from the host RNG, drawn as on the CPU, so both devices
  // drop the same values; it is then copied over.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->gpu_data();
    float* y = top[0]->mutable_gpu_data();
    if (phase_ != caffe::TRAIN) {
      if (x != y) gpu::Copy(n, x, y);
      if (test_scale_ != 1.f) gpu::Scale(n, test_scale_, y);
      return;
    }
    const size_t bytes = static_cast<size_t>(n) * sizeof(unsigned);
    if (!gpu_mask_ || gpu_mask_->size() != bytes) gpu_mask_ = std::make_unique<SyncedMemory>(bytes);
    RngBernoulli(n, 1.f - ratio_, static_cast<unsigned*>(gpu_mask_->mutable_cpu_data()));
    DropoutApplyGpu(n, x, static_cast<const unsigned*>(gpu_mask_->gpu_data()), train_scale_, y);
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    const float* dy = top[0]->gpu_diff();
    float* dx = bottom[0]->mutable_gpu_diff();
    if (phase_ != caffe::TRAIN) {
      gpu::Scale(n, test_scale_, dy, dx);
      return;
    }
    DropoutApplyGpu(n, dy, static_cast<const unsigned*>(gpu_mask_->gpu_data()), train_scale_,
                    dx);
  }
#endif

 private:
  float ratio_ = 0.5f;
  float train_scale_ = 2.f;
  float test_scale_ = 1.f;
  std::vector<unsigned> mask_;
  std::unique_ptr<SyncedMemory> gpu_mask_;  // the mask on the device (CUDA path)
};

}  // namespace

CORTADO_REGISTER_LAYER(Dropout, DropoutLayer)

}  // namespace cortado
