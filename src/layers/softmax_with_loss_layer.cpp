// SoftmaxWithLoss: softmax over an axis followed by the multinomial logistic
// loss of the integer labels, fused for a stable gradient (prob - onehot).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <memory>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "loss_normalization.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// softmax_with_loss_layer.cu
void SoftmaxLossForwardGpu(int64_t outer, int channels, int64_t inner, const float* prob,
                           const float* label, bool has_ignore, int ignore_label, float* loss);
void SoftmaxLossBackwardGpu(int64_t outer, int channels, int64_t inner, const float* label,
                            bool has_ignore, int ignore_label, float* dx);
#endif
namespace {

class SoftmaxWithLossLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "SoftmaxWithLoss"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int MinTopBlobs() const override { return 1; }
  int MaxTopBlobs() const override { return 2; }
  // As in Caffe, a loss layer written without a top still gets one for its loss.
  bool AutoTopBlobs() const override { return true; }
  // Labels are integers: there is no gradient to force into them.
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 1; }
  // Backward reads its stored probabilities and the labels (bottom 1).
  bool BackwardReadsBottomData(int index) const override { return index == 1; }
  bool BackwardReadsTopData(int) const override { return false; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    // The softmax itself is the registered Softmax layer, run on prob_.
    caffe::LayerParameter softmax_param(layer_param_);
    softmax_param.set_type("Softmax");
    softmax_param.clear_loss_weight();
    softmax_ = LayerRegistry::Create(softmax_param);
    softmax_->SetUp({bottom[0]}, {&prob_});
    if (device_.is_cuda()) softmax_->SetDevice(device_);
    // The probabilities live from forward to backward, placed by the net's
    // planner, unless a second top exposes them (that top views prob_).
    if (top.size() == 1) DeclareInternalBlob(&prob_);

    const caffe::LossParameter& loss = layer_param_.loss_param();
    has_ignore_label_ = loss.has_ignore_label();
    ignore_label_ = loss.ignore_label();
    normalization_ = ReadNormalizationMode(loss, caffe::LossParameter::VALID);
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    softmax_->Reshape({bottom[0]}, {&prob_});
    const int axis_param = layer_param_.softmax_param().axis();
    axis_ = bottom[0]->CanonicalAxisIndex(axis_param);
    outer_ = bottom[0]->count(0, axis_);
    channels_ = bottom[0]->shape(axis_);
    inner_ = bottom[0]->count(axis_ + 1);
    if (bottom[1]->count() != outer_ * inner_) {
      ThrowError(ErrorPrefix(), "label blob of shape ", bottom[1]->shape_string(),
                 " must hold one label per prediction: scores of shape ",
                 bottom[0]->shape_string(), " with softmax axis ", axis_, " make ",
                 outer_ * inner_, " predictions of ", channels_, " classes");
    }
    top[0]->Reshape(std::vector<int>{});  // a scalar
    if (top.size() >= 2) {
      top[1]->ReshapeLike(prob_);
      top[1]->ShareData(prob_);
    }
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    softmax_->Forward({bottom[0]}, {&prob_});
    const float* prob = prob_.cpu_data();
    const float* label = bottom[1]->cpu_data();
    double loss = 0;
    int64_t valid = 0;
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        const int value = LabelAt(label, o, i);
        if (value < 0) continue;  // ignored
        const float p = prob[(o * channels_ + value) * inner_ + i];
        loss -= std::log(std::max(p, FLT_MIN));
        ++valid;
      }
    }
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / Normalizer(valid));
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down.size() > 1 && propagate_down[1]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the label input (bottom 1)");
    }
    if (!propagate_down[0]) return;
    float* dx = bottom[0]->mutable_cpu_diff();
    Copy(prob_.count(), prob_.cpu_data(), dx);
    const float* label = bottom[1]->cpu_data();
    int64_t valid = 0;
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        const int value = LabelAt(label, o, i);
        if (value < 0) {
          for (int c = 0; c < channels_; ++c) dx[(o * channels_ + c) * inner_ + i] = 0;
          continue;
        }
        dx[(o * channels_ + value) * inner_ + i] -= 1.f;
        ++valid;
      }
    }
    const float scale = top[0]->cpu_diff()[0] / static_cast<float>(Normalizer(valid));
    Scale(bottom[0]->count(), scale, dx);
  }

  // The inner Softmax follows this layer's device.
  void OnDeviceSet() override {
    if (softmax_) softmax_->SetDevice(device_);
  }

#ifdef CORTADO_WITH_CUDA
  // The labels are few: they are checked (and the valid ones counted) on the
  // host, the same LabelAt as the CPU path; the per-element work runs on the
  // device.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    softmax_->Forward({bottom[0]}, {&prob_});
    const int64_t valid = CountValidLabels(bottom[1]->cpu_data());
    prediction_loss_.Reshape(std::vector<int>{static_cast<int>(outer_ * inner_)});
    SoftmaxLossForwardGpu(outer_, channels_, inner_, prob_.gpu_data(), bottom[1]->gpu_data(),
                          has_ignore_label_, ignore_label_, prediction_loss_.mutable_gpu_data());
    const double sum = gpu::Asum(prediction_loss_.count(), prediction_loss_.gpu_data());
    gpu::Set(1, static_cast<float>(sum / Normalizer(valid)), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (propagate_down.size() > 1 && propagate_down[1]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the label input (bottom 1)");
    }
    if (!propagate_down[0]) return;
    const int64_t valid = CountValidLabels(bottom[1]->cpu_data());
    float* dx = bottom[0]->mutable_gpu_diff();
    gpu::Copy(prob_.count(), prob_.gpu_data(), dx);
    SoftmaxLossBackwardGpu(outer_, channels_, inner_, bottom[1]->gpu_data(), has_ignore_label_,
                           ignore_label_, dx);
    const float scale = top[0]->cpu_diff()[0] / static_cast<float>(Normalizer(valid));
    gpu::Scale(bottom[0]->count(), scale, dx);
  }
#endif

 private:
  // The class index at (o, i), or -1 for an ignored position; throws for
  // labels outside [0, channels_).
  int LabelAt(const float* label, int64_t o, int64_t i) const {
    const int value = static_cast<int>(label[o * inner_ + i]);
    if (has_ignore_label_ && value == ignore_label_) return -1;
    if (value < 0 || value >= channels_) {
      ThrowError(ErrorPrefix(), "label value ", value, " at index ", o * inner_ + i,
                 " is outside [0, ", channels_, "): the scores have ", channels_,
                 " classes");
    }
    return value;
  }

  // Checks every label (LabelAt throws) and counts the ones not ignored.
  int64_t CountValidLabels(const float* label) const {
    int64_t valid = 0;
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) valid += LabelAt(label, o, i) >= 0;
    }
    return valid;
  }

  double Normalizer(int64_t valid) const {
    return LossNormalizer(normalization_, outer_, inner_, valid);
  }

  std::unique_ptr<Layer> softmax_;
  Blob prob_;
  Blob prediction_loss_;  // CUDA path: each prediction's loss, summed on the device
  NormalizationMode normalization_ = caffe::LossParameter::VALID;
  bool has_ignore_label_ = false;
  int ignore_label_ = 0;
  int axis_ = 1;
  int64_t outer_ = 0;
  int channels_ = 0;
  int64_t inner_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(SoftmaxWithLoss, SoftmaxWithLossLayer)

}  // namespace cortado
