// MultinomialLogisticLoss: -log(p[label]) averaged over N items, for inputs
// that already are probabilities (e.g. a Softmax layer's output).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"

namespace cortado {
namespace {

// Probabilities are clamped here so that log() stays finite.
constexpr float kMinProbability = 1e-20f;

class MultinomialLogisticLossLayer : public Layer {
 public:
  using Layer::Layer;

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
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* p = bottom[0]->cpu_data();
    const float* label = bottom[1]->cpu_data();
    double loss = 0;
    for (int n = 0; n < num_; ++n) {
      loss -= std::log(std::max(p[n * dim_ + Label(label, n)], kMinProbability));
    }
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / num_);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[1]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the label input (bottom 1)");
    }
    if (!propagate_down[0]) return;
    const float* p = bottom[0]->cpu_data();
    const float* label = bottom[1]->cpu_data();
    float* dp = bottom[0]->mutable_cpu_diff();
    Set(bottom[0]->count(), 0.f, dp);
    const float scale = -top[0]->cpu_diff()[0] / num_;
    for (int n = 0; n < num_; ++n) {
      const int64_t at = n * dim_ + Label(label, n);
      dp[at] = scale / std::max(p[at], kMinProbability);
    }
  }

 private:
  int Label(const float* label, int n) const {
    const int value = static_cast<int>(label[n]);
    if (value < 0 || value >= dim_) {
      ThrowError(ErrorPrefix(), "label value ", value, " at index ", n, " is outside [0, ",
                 dim_, "): the probabilities have ", dim_, " classes");
    }
    return value;
  }

  int num_ = 0;
  int64_t dim_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(MultinomialLogisticLoss, MultinomialLogisticLossLayer)

}  // namespace cortado
