// HingeLoss: the one-vs-all hinge loss of N items' scores against integer
// labels, L1 (sum of margins) or L2 (sum of squared margins), divided by N.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "loss_math.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// hinge_loss_layer.cu. Scores are num x dim; labels already checked.
void HingeLossForwardGpu(int num, int64_t dim, const float* scores, const float* label,
                         float* margins);
void HingeLossBackwardGpu(int num, int64_t dim, const float* margins, const float* label,
                          bool squared, float scale, float* dscores);
#endif

namespace {

class HingeLossLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "HingeLoss"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    squared_ = layer_param_.hinge_loss_param().norm() == caffe::HingeLossParameter::L2;
    DeclareInternalBlob(&margins_);
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& scores = *bottom[0];
    if (scores.num_axes() < 1 || bottom[1]->count() != scores.shape(0)) {
      ThrowError(ErrorPrefix(), "label blob of shape ", bottom[1]->shape_string(),
                 " must hold one label per item of scores ", scores.shape_string());
    }
    num_ = scores.shape(0);
    dim_ = num_ == 0 ? 0 : scores.count() / num_;
    top[0]->Reshape(std::vector<int>{});
    margins_.ReshapeLike(scores);
  }

 protected:
  // margin[n][k] = max(0, 1 + s[n][k]) for k != label, max(0, 1 - s[n][label]).
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* s = bottom[0]->cpu_data();
    const float* label = bottom[1]->cpu_data();
    float* m = margins_.mutable_cpu_data();
    const int64_t dim = dim_;
    double loss = 0;
    for (int n = 0; n < num_; ++n) {
      const int truth = Label(label, n);
      for (int64_t k = 0; k < dim; ++k) {
        const float margin = HingeMargin(s[n * dim + k], k == truth);
        m[n * dim + k] = margin;
        loss += squared_ ? double(margin) * margin : margin;
      }
    }
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / num_);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    const float* m = margins_.cpu_data();
    const float* label = bottom[1]->cpu_data();
    float* ds = bottom[0]->mutable_cpu_diff();
    const float scale = top[0]->cpu_diff()[0] / num_;
    const int64_t dim = dim_;
    for (int n = 0; n < num_; ++n) {
      const int truth = Label(label, n);
      for (int64_t k = 0; k < dim; ++k) {
        ds[n * dim + k] = scale * HingeGradient(m[n * dim + k], k == truth, squared_);
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  // The labels are checked on the host (one per item), as the CPU path
  // checks them; the margins are never negative, so L1 is an Asum.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    CheckLabels(bottom[1]->cpu_data());
    HingeLossForwardGpu(num_, dim_, bottom[0]->gpu_data(), bottom[1]->gpu_data(),
                        margins_.mutable_gpu_data());
    const int64_t n = margins_.count();
    const float loss = squared_ ? gpu::SumSquares(n, margins_.gpu_data())
                                : gpu::Asum(n, margins_.gpu_data());
    top[0]->mutable_cpu_data()[0] = loss / num_;
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    CheckLabels(bottom[1]->cpu_data());
    HingeLossBackwardGpu(num_, dim_, margins_.gpu_data(), bottom[1]->gpu_data(), squared_,
                         top[0]->cpu_diff()[0] / num_, bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  int Label(const float* label, int n) const {
    const int value = static_cast<int>(label[n]);
    if (value < 0 || value >= dim_) {
      ThrowError(ErrorPrefix(), "label value ", value, " at index ", n, " is outside [0, ",
                 dim_, "): the scores have ", dim_, " classes");
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

  bool squared_ = false;  // L2 norm
  int num_ = 0;
  int64_t dim_ = 0;
  Blob margins_;
};

}  // namespace

CORTADO_REGISTER_LAYER(HingeLoss, HingeLossLayer)

}  // namespace cortado
