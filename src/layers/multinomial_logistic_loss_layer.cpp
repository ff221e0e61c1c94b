// MultinomialLogisticLoss: -log(p[label]) averaged over N items, for inputs
// that already are probabilities (e.g. a Softmax layer's output).
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "../util/device_sum.hpp"
#include "loss_math.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// multinomial_logistic_loss_layer.cu. p is num x dim; labels already checked.
void MultinomialLogisticLossForwardGpu(int num, int64_t dim, const float* p, const float* label,
                                       float* item_loss);
// Writes only the labelled entries of dp (the caller zeroes it).
void MultinomialLogisticLossBackwardGpu(int num, int64_t dim, const float* p,
                                        const float* label, float scale, float* dp);
#endif

namespace {

class MultinomialLogisticLossLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "MultinomialLogisticLoss"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& prob = *bottom[0];
    if (prob.num_axes() < 1 || bottom[1]->count() != prob.shape(0)) {
      ThrowError(ErrorPrefix(), "label blob of shape ", bottom[1]->shape_string(),
                 " must hold one label per item of probabilities ", prob.shape_string());
    }
    num_ = prob.shape(0);
    dim_ = num_ == 0 ? 0 : prob.count() / num_;
    top[0]->Reshape(std::vector<int>{});
    item_loss_.Reshape(std::vector<int>{num_});
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* p = bottom[0]->cpu_data();
    const float* label = bottom[1]->cpu_data();
    double loss = 0;
    for (int n = 0; n < num_; ++n) loss -= ClampedLog(p[n * dim_ + Label(label, n)]);
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / num_);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    const float* p = bottom[0]->cpu_data();
    const float* label = bottom[1]->cpu_data();
    float* dp = bottom[0]->mutable_cpu_diff();
    Set(bottom[0]->count(), 0.f, dp);
    const float scale = -top[0]->cpu_diff()[0] / num_;
    for (int n = 0; n < num_; ++n) {
      const int64_t at = n * dim_ + Label(label, n);
      dp[at] = scale / ClampProbability(p[at]);
    }
  }

#ifdef CORTADO_WITH_CUDA
  // The labels are checked on the host (one per item), as the CPU path does.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    CheckLabels(bottom[1]->cpu_data());
    MultinomialLogisticLossForwardGpu(num_, dim_, bottom[0]->gpu_data(), bottom[1]->gpu_data(),
                                      item_loss_.mutable_gpu_data());
    const double loss = SumGpu(num_, item_loss_.gpu_data());
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / num_);
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    CheckLabels(bottom[1]->cpu_data());
    float* dp = bottom[0]->mutable_gpu_diff();
    gpu::Set(bottom[0]->count(), 0.f, dp);
    MultinomialLogisticLossBackwardGpu(num_, dim_, bottom[0]->gpu_data(), bottom[1]->gpu_data(),
                                       -top[0]->cpu_diff()[0] / num_, dp);
  }
#endif

 private:
  int Label(const float* label, int n) const {
    const int value = static_cast<int>(label[n]);
    if (value < 0 || value >= dim_) {
      ThrowError(ErrorPrefix(), "label value ", value, " at index ", n, " is outside [0, ",
                 dim_, "): the probabilities have ", dim_, " classes");
    }
    return value;
  }

  void CheckLabels(const float* label) const {
    for (int n = 0; n < num_; ++n) Label(label, n);
  }

  // Whether bottom 0 wants a gradient; the labels cannot have one.
  bool CheckPropagateDown(const std::vector<bool>& propagate_down) const {
    if (propagate_down[1]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the label input (bottom 1)");
    }
    return propagate_down[0];
  }

  int num_ = 0;
  int64_t dim_ = 0;
  Blob item_loss_;  // GPU scratch: -log p[label] per item
};

}  // namespace

CORTADO_REGISTER_LAYER(MultinomialLogisticLoss, MultinomialLogisticLossLayer)

}  // namespace cortado
