// ContrastiveLoss: pulls similar pairs together and pushes dissimilar ones
// at least `margin` apart. Per pair with d = ||a - b||: d^2 if similar,
// else max(margin - d, 0)^2 (legacy: max(margin - d^2, 0)); summed / (2 N).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

// Keeps the gradient finite when a dissimilar pair coincides (d = 0).
constexpr float kDistanceEpsilon = 1e-4f;

class ContrastiveLossLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "ContrastiveLoss"; }
  int ExactNumBottomBlobs() const override { return 3; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 2; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    margin_ = layer_param_.contrastive_loss_param().margin();
    legacy_ = layer_param_.contrastive_loss_param().legacy_version();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& a = *bottom[0];
    const Blob& b = *bottom[1];
    if (a.num_axes() < 1 || a.shape() != b.shape()) {
      ThrowError(ErrorPrefix(), "the pair bottoms ", a.shape_string(), " and ",
                 b.shape_string(), " must have the same shape");
    }
    if (bottom[2]->count() != a.shape(0)) {
      ThrowError(ErrorPrefix(), "similarity blob of shape ", bottom[2]->shape_string(),
                 " must hold one label per pair; the pairs are ", a.shape_string());
    }
    num_ = a.shape(0);
    dim_ = num_ == 0 ? 0 : a.count() / num_;
    top[0]->Reshape(std::vector<int>{});
    difference_.ReshapeLike(a);
    distance_sq_.assign(num_, 0.f);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* a = bottom[0]->cpu_data();
    const float* b = bottom[1]->cpu_data();
    const float* similar = bottom[2]->cpu_data();
    float* diff = difference_.mutable_cpu_data();
    const int64_t dim = dim_;
    double loss = 0;
    for (int n = 0; n < num_; ++n) {
      float sum = 0;
      for (int64_t k = n * dim; k < (n + 1) * dim; ++k) {
        diff[k] = a[k] - b[k];
        sum += diff[k] * diff[k];
      }
      distance_sq_[n] = sum;
      if (static_cast<int>(similar[n]) != 0) {
        loss += sum;
      } else if (legacy_) {
        loss += std::max(margin_ - sum, 0.f);
      } else {
        const float gap = std::max(margin_ - std::sqrt(sum), 0.f);
        loss += double(gap) * gap;
      }
    }
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / num_ / 2.0);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[2]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the similarity labels (bottom 2)");
    }
    const float* similar = bottom[2]->cpu_data();
    const float* diff = difference_.cpu_data();
    const int64_t dim = dim_;
    for (int i = 0; i < 2; ++i) {
      if (!propagate_down[i]) continue;
      const float alpha = (i == 0 ? 1.f : -1.f) * top[0]->cpu_diff()[0] / num_;
      float* dx = bottom[i]->mutable_cpu_diff();
      for (int n = 0; n < num_; ++n) {
        // Each pair's gradient is a multiple of its difference vector.
        float factor = 0;
        if (static_cast<int>(similar[n]) != 0) {
          factor = alpha;
        } else if (legacy_) {
          factor = margin_ - distance_sq_[n] > 0 ? -alpha : 0.f;
        } else {
          const float distance = std::sqrt(distance_sq_[n]);
          const float gap = margin_ - distance;
          factor = gap > 0 ? -alpha * gap / (distance + kDistanceEpsilon) : 0.f;
        }
        for (int64_t k = n * dim; k < (n + 1) * dim; ++k) dx[k] = factor * diff[k];
      }
    }
  }

 private:
  float margin_ = 1;
  bool legacy_ = false;
  int num_ = 0;
  int64_t dim_ = 0;
  Blob difference_;                // a - b
  std::vector<float> distance_sq_;  // per pair
};

}  // namespace

CORTADO_REGISTER_LAYER(ContrastiveLoss, ContrastiveLossLayer)

}  // namespace cortado
