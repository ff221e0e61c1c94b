// Softmax along one axis: y_c = exp(x_c) / sum_k exp(x_k).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// softmax_layer.cu
void SoftmaxForwardGpu(int64_t outer, int channels, int64_t inner, const float* x, float* y);
void SoftmaxBackwardGpu(int64_t outer, int channels, int64_t inner, const float* y,
                        const float* dy, float* dx);
#endif

namespace {

class SoftmaxLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Softmax"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const int axis_param = layer_param_.softmax_param().axis();
    if (axis_param < -bottom[0]->num_axes() || axis_param >= bottom[0]->num_axes()) {
      ThrowError(ErrorPrefix(), "softmax_param.axis ", axis_param,
                 " is out of range for bottom of shape ", bottom[0]->shape_string());
    }
    const int axis = bottom[0]->CanonicalAxisIndex(axis_param);
    outer_ = bottom[0]->count(0, axis);
    channels_ = bottom[0]->shape(axis);
    inner_ = bottom[0]->count(axis + 1);
    top[0]->ReshapeLike(*bottom[0]);
    scratch_.resize(inner_);
  }

 protected:
  // Walks channels in the outer loop so the inner (spatial) loop is
  // contiguous; scratch_ holds one running max, then one running sum, per
  // spatial position. Reads each x before writing the same y: in-place safe.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x_all = bottom[0]->cpu_data();
    float* y_all = top[0]->mutable_cpu_data();
    float* scratch = scratch_.data();
    const int64_t inner = inner_;
    for (int64_t o = 0; o < outer_; ++o) {
      const float* x = x_all + o * channels_ * inner;
      float* y = y_all + o * channels_ * inner;
      std::copy(x, x + inner, scratch);
      for (int c = 1; c < channels_; ++c) {
        const float* xc = x + c * inner;
        for (int64_t i = 0; i < inner; ++i) scratch[i] = std::max(scratch[i], xc[i]);
      }
      // Subtracting the max keeps exp from overflowing.
      for (int c = 0; c < channels_; ++c) {
        const float* xc = x + c * inner;
        float* yc = y + c * inner;
        for (int64_t i = 0; i < inner; ++i) yc[i] = std::exp(xc[i] - scratch[i]);
      }
      std::fill_n(scratch, inner, 0.f);
      for (int c = 0; c < channels_; ++c) {
        const float* yc = y + c * inner;
        for (int64_t i = 0; i < inner; ++i) scratch[i] += yc[i];
      }
      for (int64_t i = 0; i < inner; ++i) scratch[i] = 1.f / scratch[i];
      for (int c = 0; c < channels_; ++c) {
        float* yc = y + c * inner;
        for (int64_t i = 0; i < inner; ++i) yc[i] *= scratch[i];
      }
    }
  }

  // dx_c = y_c * (dy_c - sum_k dy_k y_k); reads only y, so in-place safe.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const float* y_all = top[0]->cpu_data();
    const float* dy_all = top[0]->cpu_diff();
    float* dx_all = bottom[0]->mutable_cpu_diff();
    float* dot = scratch_.data();
    const int64_t inner = inner_;
    for (int64_t o = 0; o < outer_; ++o) {
      const int64_t base = o * channels_ * inner;
      const float* y = y_all + base;
      const float* dy = dy_all + base;
      float* dx = dx_all + base;
      std::fill_n(dot, inner, 0.f);
      for (int c = 0; c < channels_; ++c) {
        for (int64_t i = 0; i < inner; ++i) dot[i] += dy[c * inner + i] * y[c * inner + i];
      }
      for (int c = 0; c < channels_; ++c) {
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t k = c * inner + i;
          dx[k] = y[k] * (dy[k] - dot[i]);
        }
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    SoftmaxForwardGpu(outer_, channels_, inner_, bottom[0]->gpu_data(),
                      top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    SoftmaxBackwardGpu(outer_, channels_, inner_, top[0]->gpu_data(), top[0]->gpu_diff(),
                       bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  int64_t outer_ = 0;
  int channels_ = 0;
  int64_t inner_ = 0;
  std::vector<float> scratch_;
};

}  // namespace

CORTADO_REGISTER_LAYER(Softmax, SoftmaxLayer)

}  // namespace cortado
