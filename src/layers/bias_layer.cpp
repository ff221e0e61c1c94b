// Bias: adds a (learned or second-bottom) bias broadcast from `axis`.
#include <vector>

#include "cortado/filler.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "cortado/parallel.hpp"
#include "../util/channel_sum_gpu.hpp"
#include "../util/lane_sum.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// bias_layer.cu
void BiasForwardGpu(int64_t n, const float* x, const float* bias, int64_t bias_dim,
                    int64_t inner, float* y);
#endif

class BiasLayer : public Layer {
 public:
  explicit BiasLayer(const caffe::LayerParameter& param) : Layer(param) {}
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;
  const char* type() const override { return "Bias"; }
  int MinBottomBlobs() const override { return 1; }
  int MaxBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  void Reshape(const BlobVec& bottom, const BlobVec& top) override;

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override;
#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override;
#endif

 private:
  const Blob& BiasBlob(const BlobVec& bottom) const {
    return bottom.size() > 1 ? *bottom[1] : *blobs_[0];
  }

  int axis_ = 1;
  int64_t outer_ = 0, bias_dim_ = 0, inner_ = 0;
};

void BiasLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  if (bottom.size() > 1) {
    if (!blobs_.empty()) {
      ThrowError(ErrorPrefix(), "takes its bias from bottom 1 and so has no parameter "
                 "blobs, but ", blobs_.size(), " were given");
    }
    return;
  }
  const caffe::BiasParameter& p = layer_param_.bias_param();
  const int axis = bottom[0]->CanonicalAxisIndex(p.axis());
  if (p.num_axes() < -1) {
    ThrowError(ErrorPrefix(), "num_axes must be -1 (all remaining) or >= 0, got ",
               p.num_axes());
  }
  if (p.num_axes() != -1 && axis + p.num_axes() > bottom[0]->num_axes()) {
    ThrowError(ErrorPrefix(), "axis ", axis, " plus num_axes ", p.num_axes(),
               " exceeds the axes of bottom ", bottom[0]->shape_string());
  }
  const int end = p.num_axes() == -1 ? bottom[0]->num_axes() : axis + p.num_axes();
  const std::vector<int> shape(bottom[0]->shape().begin() + axis,
                               bottom[0]->shape().begin() + end);
  if (!blobs_.empty()) {
    if (blobs_.size() != 1 || blobs_[0]->shape() != shape) {
      ThrowError(ErrorPrefix(), "expects one bias blob matching bottom ",
                 bottom[0]->shape_string(), " from axis ", axis);
    }
    return;
  }
  blobs_.push_back(std::make_unique<Blob>(shape));
  FillBlob(p.filler(), blobs_[0].get());
}

void BiasLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  const Blob& in = *bottom[0];
  const Blob& bias = BiasBlob(bottom);
  axis_ = bias.num_axes() == 0 ? 0 : in.CanonicalAxisIndex(layer_param_.bias_param().axis());
  bool fits = in.num_axes() >= axis_ + bias.num_axes();
  for (int a = 0; fits && a < bias.num_axes(); ++a) {
    fits = in.shape(axis_ + a) == bias.shape(a);
  }
  if (!fits) {
    ThrowError(ErrorPrefix(), "bias ", bias.shape_string(), " does not match bottom ",
               in.shape_string(), " starting at axis ", axis_);
  }
  outer_ = in.count(0, axis_);
  bias_dim_ = bias.count();
  inner_ = in.count(axis_ + bias.num_axes());
  if (bottom[0] != top[0]) top[0]->ReshapeLike(in);
}

void BiasLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const float* x = bottom[0]->cpu_data();
  const float* bias = BiasBlob(bottom).cpu_data();
  float* y = top[0]->mutable_cpu_data();
  const int64_t bias_dim = bias_dim_, inner = inner_;
  ParallelForRows(outer_ * bias_dim, inner, [=](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t base = r * inner;
      const float shift = bias[r % bias_dim];
      for (int64_t i = 0; i < inner; ++i) y[base + i] = x[base + i] + shift;
    }
  });
}

void BiasLayer::BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                             const BlobVec& bottom) {
  const float* dy = top[0]->cpu_diff();
  if (propagate_down[0] && bottom[0] != top[0]) {
    Copy(bottom[0]->count(), dy, bottom[0]->mutable_cpu_diff());
  }
  const bool is_param = bottom.size() == 1;
  const bool bias_grad = is_param ? param_propagate_down(0) : propagate_down[1];
  if (!bias_grad) return;
  float* bias_diff = is_param ? blobs_[0]->mutable_cpu_diff() : bottom[1]->mutable_cpu_diff();
  // A parameter's gradient accumulates; a bottom's is overwritten.
  if (!is_param) Set(bias_dim_, 0.f, bias_diff);
  // Split by channel, each summed over outer in order: thread-count
  // independent.
  const int64_t outer = outer_, bias_dim = bias_dim_, inner = inner_;
  ParallelForRows(bias_dim, outer * inner, [=](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      for (int64_t o = 0; o < outer; ++o) {
        const float* d = dy + (o * bias_dim + b) * inner;
        bias_diff[b] += LaneSum<float>(inner, [d](int64_t i) { return d[i]; });
      }
    }
  });
}

#ifdef CORTADO_WITH_CUDA
void BiasLayer::ForwardGpu(const BlobVec& bottom, const BlobVec& top) {
  BiasForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), BiasBlob(bottom).gpu_data(),
                 bias_dim_, inner_, top[0]->mutable_gpu_data());
}

void BiasLayer::BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                            const BlobVec& bottom) {
  const float* dy = top[0]->gpu_diff();
  if (propagate_down[0] && bottom[0] != top[0]) {
    gpu::Copy(bottom[0]->count(), dy, bottom[0]->mutable_gpu_diff());
  }
  const bool is_param = bottom.size() == 1;
  const bool bias_grad = is_param ? param_propagate_down(0) : propagate_down[1];
  if (!bias_grad) return;
  float* bias_diff = is_param ? blobs_[0]->mutable_gpu_diff() : bottom[1]->mutable_gpu_diff();
  // A parameter's gradient accumulates; a bottom's is overwritten.
  ChannelSumGpu(outer_, bias_dim_, inner_, dy, nullptr, is_param ? 1.f : 0.f, bias_diff);
}
#endif

CORTADO_REGISTER_LAYER(Bias, BiasLayer)

}  // namespace cortado
