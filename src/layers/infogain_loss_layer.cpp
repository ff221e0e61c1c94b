// InfogainLoss: a SoftmaxWithLoss that weighs every (label, class) pair by
// an "information gain" matrix H: per prediction, -sum_k H[label][k] *
// log(p_k). H comes from a third bottom or infogain_loss_param.source.
#include <memory>
#include <vector>

#include "cortado/io.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "../util/device_sum.hpp"
#include "layer_axis.hpp"
#include "loss_math.hpp"
#include "loss_normalization.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// infogain_loss_layer.cu. prob is outer x classes x inner; labels (outer x
// inner) are already checked. The forward writes each prediction's loss
// (0 where ignored); the backward writes the unscaled gradient.
void InfogainLossForwardGpu(int64_t outer, int classes, int64_t inner, const float* prob,
                            const float* label, const float* infogain, bool has_ignore_label,
                            int ignore_label, float* loss);
void InfogainLossBackwardGpu(int64_t outer, int classes, int64_t inner, const float* prob,
                             const float* label, const float* infogain, bool has_ignore_label,
                             int ignore_label, float* dx);
#endif

namespace {

class InfogainLossLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "InfogainLoss"; }
  int MinBottomBlobs() const override { return 2; }
  int MaxBottomBlobs() const override { return 3; }
  int MinTopBlobs() const override { return 1; }
  int MaxTopBlobs() const override { return 2; }
  // Labels and the matrix are inputs only.
  bool AllowForceBackward(int bottom_index) const override { return bottom_index == 0; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::InfogainLossParameter& p = layer_param_.infogain_loss_param();
    // The probabilities live from forward to backward, placed by the net's
    // planner, unless a second top exposes them (that top views prob_).
    if (top.size() == 1) DeclareInternalBlob(&prob_);
    // The softmax is the registered Softmax layer over the infogain axis.
    caffe::LayerParameter softmax_param(layer_param_);
    softmax_param.set_type("Softmax");
    softmax_param.clear_loss_weight();
    softmax_param.mutable_softmax_param()->set_axis(p.axis());
    softmax_ = LayerRegistry::Create(softmax_param);
    softmax_->SetUp({bottom[0]}, {&prob_});

    const caffe::LossParameter& loss = layer_param_.loss_param();
    has_ignore_label_ = loss.has_ignore_label();
    ignore_label_ = loss.ignore_label();
    normalization_ = ReadNormalizationMode(loss, caffe::LossParameter::VALID);

    if (bottom.size() < 3) {
      if (!p.has_source()) {
        ThrowError(ErrorPrefix(), "needs the infogain matrix: give a third bottom or "
                   "infogain_loss_param.source (a binaryproto BlobProto)");
      }
      caffe::BlobProto proto;
      ReadProtoFromBinaryFile(p.source(), &proto);
      infogain_.FromProto(proto);
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    softmax_->Reshape({bottom[0]}, {&prob_});
    const Blob& scores = *bottom[0];
    axis_ = CanonicalAxisOrThrow(scores, layer_param_.infogain_loss_param().axis(),
                                 ErrorPrefix(), "infogain_loss_param.axis");
    outer_ = scores.count(0, axis_);
    classes_ = scores.shape(axis_);
    inner_ = scores.count(axis_ + 1);
    if (bottom[1]->count() != outer_ * inner_) {
      ThrowError(ErrorPrefix(), "label blob of shape ", bottom[1]->shape_string(),
                 " must hold one label per prediction: scores of shape ",
                 scores.shape_string(), " with axis ", axis_, " make ", outer_ * inner_,
                 " predictions of ", classes_, " classes");
    }
    const Blob& h = Infogain(bottom);
    if (h.count() != int64_t(classes_) * classes_) {
      ThrowError(ErrorPrefix(), "infogain matrix of shape ", h.shape_string(), " must be ",
                 classes_, " x ", classes_, " for ", classes_, " classes");
    }
    top[0]->Reshape(std::vector<int>{});
    prediction_loss_.Reshape(std::vector<int>{static_cast<int>(outer_ * inner_)});
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
    const float* h = Infogain(bottom).cpu_data();
    double loss = 0;
    int64_t valid = 0;
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        const int value = LabelAt(label, o, i);
        if (value < 0) continue;  // ignored
        const float* gain = h + int64_t(value) * classes_;
        for (int c = 0; c < classes_; ++c) {
          const float p = prob[(o * classes_ + c) * inner_ + i];
          loss -= gain[c] * ClampedLog(p);
        }
        ++valid;
      }
    }
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / Normalizer(valid));
  }

  // d/dx_c = p_c * sum_k H[label][k] - H[label][c].
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    const float* prob = prob_.cpu_data();
    const float* label = bottom[1]->cpu_data();
    const float* h = Infogain(bottom).cpu_data();
    float* dx = bottom[0]->mutable_cpu_diff();
    int64_t valid = 0;
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        const int value = LabelAt(label, o, i);
        const float* gain = value < 0 ? nullptr : h + int64_t(value) * classes_;
        float row_sum = 0;
        if (gain) {
          for (int c = 0; c < classes_; ++c) row_sum += gain[c];
          ++valid;
        }
        for (int c = 0; c < classes_; ++c) {
          const int64_t at = (o * classes_ + c) * inner_ + i;
          dx[at] = gain ? prob[at] * row_sum - gain[c] : 0.f;
        }
      }
    }
    const float scale = top[0]->cpu_diff()[0] / static_cast<float>(Normalizer(valid));
    for (int64_t k = 0; k < bottom[0]->count(); ++k) dx[k] *= scale;
  }

#ifdef CORTADO_WITH_CUDA
  // The labels are checked (and the valid ones counted) on the host, as the
  // CPU path does; the per-prediction work runs on the device.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    // The inner Softmax follows this layer's device (it keeps to the CPU
    // when its type has no CUDA kernels).
    if (softmax_->device() != device_) softmax_->SetDevice(device_);
    softmax_->Forward({bottom[0]}, {&prob_});
    const int64_t valid = CheckLabels(bottom[1]->cpu_data());
    InfogainLossForwardGpu(outer_, classes_, inner_, prob_.gpu_data(), bottom[1]->gpu_data(),
                           Infogain(bottom).gpu_data(), has_ignore_label_, ignore_label_,
                           prediction_loss_.mutable_gpu_data());
    const double loss = SumGpu(prediction_loss_.count(), prediction_loss_.gpu_data());
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / Normalizer(valid));
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    const int64_t valid = CheckLabels(bottom[1]->cpu_data());
    float* dx = bottom[0]->mutable_gpu_diff();
    InfogainLossBackwardGpu(outer_, classes_, inner_, prob_.gpu_data(), bottom[1]->gpu_data(),
                            Infogain(bottom).gpu_data(), has_ignore_label_, ignore_label_, dx);
    gpu::Scale(bottom[0]->count(), top[0]->cpu_diff()[0] / static_cast<float>(Normalizer(valid)),
               dx);
  }
#endif

 private:
  double Normalizer(int64_t valid) const {
    return LossNormalizer(normalization_, outer_, inner_, valid);
  }

  // Whether bottom 0 wants a gradient; labels and matrix cannot have one.
  bool CheckPropagateDown(const std::vector<bool>& propagate_down) const {
    for (size_t b = 1; b < propagate_down.size(); ++b) {
      if (propagate_down[b]) {
        ThrowError(ErrorPrefix(), "cannot back-propagate to bottom ", b,
                   b == 1 ? " (the labels)" : " (the infogain matrix)");
      }
    }
    return propagate_down[0];
  }

  // Throws on the first label out of range; returns how many are not ignored.
  int64_t CheckLabels(const float* label) const {
    int64_t valid = 0;
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) valid += LabelAt(label, o, i) >= 0 ? 1 : 0;
    }
    return valid;
  }

  const Blob& Infogain(const BlobVec& bottom) const {
    return bottom.size() >= 3 ? *bottom[2] : infogain_;
  }

  // The class index at (o, i), or -1 for an ignored position; throws for
  // labels outside [0, classes_).
  int LabelAt(const float* label, int64_t o, int64_t i) const {
    const int value = static_cast<int>(label[o * inner_ + i]);
    if (IsIgnoredLabel(label[o * inner_ + i], has_ignore_label_, ignore_label_)) return -1;
    if (value < 0 || value >= classes_) {
      ThrowError(ErrorPrefix(), "label value ", value, " at index ", o * inner_ + i,
                 " is outside [0, ", classes_, "): the scores have ", classes_, " classes");
    }
    return value;
  }

  std::unique_ptr<Layer> softmax_;
  Blob prob_;
  Blob infogain_;  // from infogain_loss_param.source, when there is no third bottom
  Blob prediction_loss_;  // GPU scratch: each prediction's loss
  NormalizationMode normalization_ = caffe::LossParameter::VALID;
  bool has_ignore_label_ = false;
  int ignore_label_ = 0;
  int axis_ = 1;
  int64_t outer_ = 0;
  int classes_ = 0;
  int64_t inner_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(InfogainLoss, InfogainLossLayer)

}  // namespace cortado
