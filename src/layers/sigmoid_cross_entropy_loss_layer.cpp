// SigmoidCrossEntropyLoss: the cross-entropy of sigmoid(x) against target
// probabilities t, fused for a stable loss and gradient (sigmoid(x) - t).
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "loss_normalization.hpp"

namespace cortado {
namespace {

class SigmoidCrossEntropyLossLayer : public Layer {
 public:
  using Layer::Layer;

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
  }

 protected:
  // -[t log s + (1 - t) log(1 - s)] with s = sigmoid(x) equals
  // max(x, 0) - x t + log(1 + exp(-|x|)), which never overflows.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    const float* t = bottom[1]->cpu_data();
    const int64_t n = bottom[0]->count();
    double loss = 0;
    int64_t valid = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (Ignored(t[i])) continue;
      const float positive = x[i] >= 0 ? x[i] : 0.f;
      loss += positive - x[i] * t[i] + std::log1p(std::exp(-std::fabs(x[i])));
      ++valid;
    }
    top[0]->mutable_cpu_data()[0] =
        static_cast<float>(loss / LossNormalizer(normalization_, outer_, inner_, valid));
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[1]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the target input (bottom 1)");
    }
    if (!propagate_down[0]) return;
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
      dx[i] = 0.5f * std::tanh(0.5f * x[i]) + 0.5f - t[i];
      ++valid;
    }
    const float scale = top[0]->cpu_diff()[0] /
                        static_cast<float>(LossNormalizer(normalization_, outer_, inner_, valid));
    for (int64_t i = 0; i < n; ++i) dx[i] *= scale;
  }

 private:
  bool Ignored(float target) const {
    return has_ignore_label_ && static_cast<int>(target) == ignore_label_;
  }

  NormalizationMode normalization_ = caffe::LossParameter::BATCH_SIZE;
  bool has_ignore_label_ = false;
  int ignore_label_ = 0;
  int64_t outer_ = 0;  // items (axis 0)
  int64_t inner_ = 0;  // predictions per item
};

}  // namespace

CORTADO_REGISTER_LAYER(SigmoidCrossEntropyLoss, SigmoidCrossEntropyLossLayer)

}  // namespace cortado
