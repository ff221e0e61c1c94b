// ContrastiveLoss: pulls similar pairs together and pushes dissimilar ones
// at least `margin` apart. Per pair with d = ||a - b||: d^2 if similar,
// else max(margin - d, 0)^2 (legacy: max(margin - d^2, 0)); summed / (2 N).
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "../util/device_sum.hpp"
#include "loss_math.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// contrastive_loss_layer.cu. diff = a - b is num x dim.
void ContrastiveLossForwardGpu(int num, int64_t dim, const float* diff, const float* similar,
                               float margin, bool legacy, float* distance_sq, float* pair_loss);
void ContrastiveLossBackwardGpu(int num, int64_t dim, const float* diff, const float* similar,
                                const float* distance_sq, float margin, bool legacy,
                                float alpha, float* dx);
#endif

namespace {

class ContrastiveLossLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "ContrastiveLoss"; }
  int ExactNumBottomBlobs() const override { return 3; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 2; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    margin_ = layer_param_.contrastive_loss_param().margin();
    DeclareInternalBlob(&difference_);
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
    distance_sq_.Reshape(std::vector<int>{num_});
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* a = bottom[0]->cpu_data();
    const float* b = bottom[1]->cpu_data();
    const float* similar = bottom[2]->cpu_data();
    float* diff = difference_.mutable_cpu_data();
    float* distance_sq = distance_sq_.mutable_cpu_data();
    const int64_t dim = dim_;
    double loss = 0;
    for (int n = 0; n < num_; ++n) {
      float sum = 0;
      for (int64_t k = n * dim; k < (n + 1) * dim; ++k) {
        diff[k] = a[k] - b[k];
        sum += diff[k] * diff[k];
      }
      distance_sq[n] = sum;
      loss += ContrastivePairLoss(IsSimilarPair(similar[n]), sum, margin_, legacy_);
    }
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / num_ / 2.0);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    CheckPropagateDown(propagate_down);
    const float* similar = bottom[2]->cpu_data();
    const float* diff = difference_.cpu_data();
    const float* distance_sq = distance_sq_.cpu_data();
    const int64_t dim = dim_;
    for (int i = 0; i < 2; ++i) {
      if (!propagate_down[i]) continue;
      const float alpha = Alpha(i, top);
      float* dx = bottom[i]->mutable_cpu_diff();
      for (int n = 0; n < num_; ++n) {
        const float factor =
            ContrastiveFactor(IsSimilarPair(similar[n]), distance_sq[n], margin_, legacy_, alpha);
        for (int64_t k = n * dim; k < (n + 1) * dim; ++k) dx[k] = factor * diff[k];
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    gpu::Sub(bottom[0]->count(), bottom[0]->gpu_data(), bottom[1]->gpu_data(),
             difference_.mutable_gpu_data());
    // Each pair's loss goes to distance_sq_'s diff, which is otherwise unused.
    ContrastiveLossForwardGpu(num_, dim_, difference_.gpu_data(), bottom[2]->gpu_data(), margin_,
                              legacy_, distance_sq_.mutable_gpu_data(),
                              distance_sq_.mutable_gpu_diff());
    const double loss = SumGpu(num_, distance_sq_.gpu_diff());
    top[0]->mutable_cpu_data()[0] = static_cast<float>(loss / num_ / 2.0);
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    CheckPropagateDown(propagate_down);
    for (int i = 0; i < 2; ++i) {
      if (!propagate_down[i]) continue;
      ContrastiveLossBackwardGpu(num_, dim_, difference_.gpu_data(), bottom[2]->gpu_data(),
                                 distance_sq_.gpu_data(), margin_, legacy_, Alpha(i, top),
                                 bottom[i]->mutable_gpu_diff());
    }
  }
#endif

 private:
  void CheckPropagateDown(const std::vector<bool>& propagate_down) const {
    if (propagate_down[2]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the similarity labels (bottom 2)");
    }
  }

  // d loss / d (a - b) carries the top's weight and 1/N; b gets the negative.
  float Alpha(int bottom_index, const BlobVec& top) const {
    return (bottom_index == 0 ? 1.f : -1.f) * top[0]->cpu_diff()[0] / num_;
  }

  float margin_ = 1;
  bool legacy_ = false;
  int num_ = 0;
  int64_t dim_ = 0;
  Blob difference_;   // a - b
  Blob distance_sq_;  // ||a - b||^2 per pair
};

}  // namespace

CORTADO_REGISTER_LAYER(ContrastiveLoss, ContrastiveLossLayer)

}  // namespace cortado
