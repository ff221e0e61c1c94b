// Accuracy: the fraction of predictions whose true class is among the top_k
// scores; an optional second top holds the accuracy of each class.
#include <algorithm>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// accuracy_layer.cu
void AccuracyCorrectGpu(int64_t outer, int classes, int64_t inner, const float* score,
                        const float* label, int top_k, float* correct);
#endif

namespace {

class AccuracyLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Accuracy"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int MinTopBlobs() const override { return 1; }
  int MaxTopBlobs() const override { return 2; }
  bool AllowForceBackward(int bottom_index) const override { return false; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::AccuracyParameter& param = layer_param_.accuracy_param();
    top_k_ = static_cast<int>(param.top_k());
    if (top_k_ < 1) ThrowError(ErrorPrefix(), "accuracy_param.top_k must be at least 1");
    has_ignore_label_ = param.has_ignore_label();
    ignore_label_ = param.ignore_label();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const int axis_param = layer_param_.accuracy_param().axis();
    if (axis_param < -bottom[0]->num_axes() || axis_param >= bottom[0]->num_axes()) {
      ThrowError(ErrorPrefix(), "accuracy_param.axis ", axis_param,
                 " is out of range for bottom of shape ", bottom[0]->shape_string());
    }
    axis_ = bottom[0]->CanonicalAxisIndex(axis_param);
    outer_ = bottom[0]->count(0, axis_);
    classes_ = bottom[0]->shape(axis_);
    inner_ = bottom[0]->count(axis_ + 1);
    if (top_k_ > classes_) {
      ThrowError(ErrorPrefix(), "accuracy_param.top_k ", top_k_, " exceeds the ", classes_,
                 " classes of bottom shape ", bottom[0]->shape_string());
    }
    if (bottom[1]->count() != outer_ * inner_) {
      ThrowError(ErrorPrefix(), "label blob of shape ", bottom[1]->shape_string(),
                 " must hold one label per prediction: scores of shape ",
                 bottom[0]->shape_string(), " with axis ", axis_, " make ",
                 outer_ * inner_, " predictions");
    }
    top[0]->Reshape(std::vector<int>{});  // a scalar
    if (top.size() >= 2) top[1]->Reshape(std::vector<int>{classes_});
    class_counts_.resize(classes_);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* score = bottom[0]->cpu_data();
    Tally(bottom[1]->cpu_data(), top, [&](int64_t o, int64_t i, int value) {
      const float* s = score + o * classes_ * inner_ + i;
      const float truth = s[value * inner_];
      // A tie with the true class counts against it, so a constant score
      // vector is not "correct".
      int better = 0;
      for (int c = 0; c < classes_; ++c) {
        if (c != value && s[c * inner_] >= truth) ++better;
      }
      return better < top_k_;
    });
  }

#ifdef CORTADO_WITH_CUDA
  // The device ranks the scores; the labels (few) are checked and the
  // results tallied on the host by the same Tally as the CPU path.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    correct_.Reshape(std::vector<int>{static_cast<int>(outer_ * inner_)});
    AccuracyCorrectGpu(outer_, classes_, inner_, bottom[0]->gpu_data(), bottom[1]->gpu_data(),
                       top_k_, correct_.mutable_gpu_data());
    const float* correct = correct_.cpu_data();
    Tally(bottom[1]->cpu_data(), top,
          [&](int64_t o, int64_t i, int value) { return correct[o * inner_ + i] != 0.f; });
  }
#endif

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    for (bool down : propagate_down) {
      if (down) ThrowError(ErrorPrefix(), "accuracy has no gradient to back-propagate");
    }
  }

 private:
  // Walks the labels, skipping ignored ones and rejecting out-of-range ones,
  // asks is_correct(o, i, label) for the rest and writes the tops.
  template <typename IsCorrect>
  void Tally(const float* label, const BlobVec& top, IsCorrect is_correct) {
    const bool per_class = top.size() >= 2;
    float* class_correct = per_class ? top[1]->mutable_cpu_data() : nullptr;
    if (per_class) Set(classes_, 0.f, class_correct);
    std::fill(class_counts_.begin(), class_counts_.end(), 0);
    int64_t correct = 0;
    int64_t counted = 0;
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        const int value = static_cast<int>(label[o * inner_ + i]);
        if (has_ignore_label_ && value == ignore_label_) continue;
        if (value < 0 || value >= classes_) {
          ThrowError(ErrorPrefix(), "label value ", value, " at index ", o * inner_ + i,
                     " is outside [0, ", classes_, "): the scores have ", classes_,
                     " classes");
        }
        ++counted;
        ++class_counts_[value];
        if (is_correct(o, i, value)) {
          ++correct;
          if (per_class) class_correct[value] += 1;
        }
      }
    }
    top[0]->mutable_cpu_data()[0] =
        counted == 0 ? 0.f : static_cast<float>(double(correct) / double(counted));
    if (per_class) {
      for (int c = 0; c < classes_; ++c) {
        class_correct[c] = class_counts_[c] == 0 ? 0.f : class_correct[c] / class_counts_[c];
      }
    }
  }

  int top_k_ = 1;
  bool has_ignore_label_ = false;
  int ignore_label_ = 0;
  int axis_ = 1;
  int64_t outer_ = 0;
  int classes_ = 0;
  int64_t inner_ = 0;
  std::vector<int64_t> class_counts_;
  Blob correct_;  // CUDA path: 1 per correct prediction
};

}  // namespace

CORTADO_REGISTER_LAYER(Accuracy, AccuracyLayer)

}  // namespace cortado
