// SigmoidCrossEntropyLoss: the cross-entropy of sigmoid(x) against target
// probabilities t, fused for a stable loss and gradient (sigmoid(x) - t).
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "../util/device_sum.hpp"
#include "loss_math.hpp"
#include "loss_normalization.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// sigmoid_cross_entropy_loss_layer.cu. Both write 1 to valid[i] for a
// counted element and 0 for an ignored one.
void SigmoidCrossEntropyLossForwardGpu(int64_t n, const float* x, const float* t,
                                       bool has_ignore_label, int ignore_label, float* loss,
                                       float* valid);
void SigmoidCrossEntropyLossBackwardGpu(int64_t n, const float* x, const float* t,
                                        bool has_ignore_label, int ignore_label, float* dx,
                                        float* valid);
#endif

namespace {

class SigmoidCrossEntropyLossLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "SigmoidCrossEntropyLoss"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::LossParameter& loss = layer_param_.loss_param();
    has_ignore_label_ = loss.has_ignore_label();
    ignore_label_ = loss.ignore_label();
    // BVLC keeps BATCH_SIZE as this layer's default for old models.
    normalization_ = ReadNormalizationMode(loss, caffe::LossParameter::BATCH_SIZE);
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& x = *bottom[0];
    if (x.num_axes() < 1 || x.count() != bottom[1]->count()) {
      ThrowError(ErrorPrefix(), "target blob of shape ", bottom[1]->shape_string(),
                 " must have as many values as the scores ", x.shape_string());
    }
    outer_ = x.shape(0);
    inner_ = outer_ == 0 ? 0 : x.count() / outer_;
    top[0]->Reshape(std::vector<int>{});
    terms_.ReshapeLike(x);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    const float* t = bottom[1]->cpu_data();
    const int64_t n = bottom[0]->count();
    double loss = 0;
    int64_t valid = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (Ignored(t[i])) continue;
      loss += SigmoidCrossEntropy(x[i], t[i]);
      ++valid;
    }
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / Normalizer(valid));
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    const float* x = bottom[0]->cpu_data();
    const float* t = bottom[1]->cpu_data();
    float* dx = bottom[0]->mutable_cpu_diff();
    const int64_t n = bottom[0]->count();
    int64_t valid = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (Ignored(t[i])) {
        dx[i] = 0;
        continue;
      }
      dx[i] = SigmoidCrossEntropyGradient(x[i], t[i]);
      ++valid;
    }
    const float scale = top[0]->cpu_diff()[0] / static_cast<float>(Normalizer(valid));
    for (int64_t i = 0; i < n; ++i) dx[i] *= scale;
  }

#ifdef CORTADO_WITH_CUDA
  // Per-element terms go to terms_'s data, valid flags to its diff; the
  // sums come back to the host for the normalisation.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    SigmoidCrossEntropyLossForwardGpu(n, bottom[0]->gpu_data(), bottom[1]->gpu_data(),
                                      has_ignore_label_, ignore_label_,
                                      terms_.mutable_gpu_data(), terms_.mutable_gpu_diff());
    const double loss = SumGpu(n, terms_.gpu_data());
    const int64_t valid = static_cast<int64_t>(SumGpu(n, terms_.gpu_diff()));
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / Normalizer(valid));
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    const int64_t n = bottom[0]->count();
    float* dx = bottom[0]->mutable_gpu_diff();
    SigmoidCrossEntropyLossBackwardGpu(n, bottom[0]->gpu_data(), bottom[1]->gpu_data(),
                                       has_ignore_label_, ignore_label_, dx,
                                       terms_.mutable_gpu_diff());
    const int64_t valid = static_cast<int64_t>(SumGpu(n, terms_.gpu_diff()));
    gpu::Scale(n, top[0]->cpu_diff()[0] / static_cast<float>(Normalizer(valid)), dx);
  }
#endif

 private:
  bool Ignored(float target) const {
    return IsIgnoredLabel(target, has_ignore_label_, ignore_label_);
  }

  double Normalizer(int64_t valid) const {
    return LossNormalizer(normalization_, outer_, inner_, valid);
  }

  // Whether bottom 0 wants a gradient; the targets cannot have one.
  bool CheckPropagateDown(const std::vector<bool>& propagate_down) const {
    if (propagate_down[1]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the target input (bottom 1)");
    }
    return propagate_down[0];
  }

  NormalizationMode normalization_ = caffe::LossParameter::BATCH_SIZE;
  bool has_ignore_label_ = false;
  int ignore_label_ = 0;
  int64_t outer_ = 0;  // items (axis 0)
  int64_t inner_ = 0;  // predictions per item
  Blob terms_;  // GPU scratch: per-element loss (data) and valid flags (diff)
};

}  // namespace

CORTADO_REGISTER_LAYER(SigmoidCrossEntropyLoss, SigmoidCrossEntropyLossLayer)

}  // namespace cortado
