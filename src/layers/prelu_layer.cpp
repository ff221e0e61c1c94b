// PReLU: ReLU with a learned negative slope per channel (or one shared):
// y = max(x, 0) + a_c * min(x, 0).
#include <memory>
#include <vector>

#include "activation_math.hpp"
#include "cortado/filler.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// prelu_layer.cu. x is num x channels x dim; slope_count is 1 (shared) or
// channels.
void PreluForwardGpu(int64_t num, int channels, int64_t dim, const float* x,
                     const float* slopes, int slope_count, float* y);
void PreluBackwardGpu(int64_t num, int channels, int64_t dim, const float* dy, const float* x,
                      const float* slopes, int slope_count, float* dx);
// Adds each slope's gradient to slope_diff.
void PreluSlopeBackwardGpu(int64_t num, int channels, int64_t dim, const float* dy,
                           const float* x, int slope_count, float* slope_diff);
#endif

namespace {

class PreluLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "PReLU"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::PReLUParameter& p = layer_param_.prelu_param();
    DeclareInternalBlob(&bottom_copy_);
    if (bottom[0]->num_axes() < 2) {
      ThrowError(ErrorPrefix(), "bottom of shape ", bottom[0]->shape_string(),
                 " needs at least 2 axes (the slopes are per channel, axis 1)");
    }
    channel_shared_ = p.channel_shared();
    const int channels = bottom[0]->shape(1);
    // A shared slope is a scalar blob (no axes), as in BVLC caffemodels.
    const std::vector<int> slope_shape =
        channel_shared_ ? std::vector<int>{} : std::vector<int>{channels};
    if (!blobs_.empty()) {
      if (blobs_.size() != 1 || blobs_[0]->count() != (channel_shared_ ? 1 : channels)) {
        ThrowError(ErrorPrefix(), "expects one slope blob of ",
                   channel_shared_ ? 1 : channels, " value(s) (channel_shared: ",
                   channel_shared_ ? "true" : "false", "), got ", blobs_.size(),
                   " blob(s) of shape ", blobs_[0]->shape_string());
      }
      return;
    }
    blobs_.push_back(std::make_unique<Blob>(slope_shape));
    if (p.has_filler()) {
      FillBlob(p.filler(), blobs_[0].get());
    } else {
      Set(blobs_[0]->count(), 0.25f, blobs_[0]->mutable_cpu_data());
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    if (in.num_axes() < 2 || (!channel_shared_ && in.shape(1) != blobs_[0]->count())) {
      ThrowError(ErrorPrefix(), "bottom of shape ", in.shape_string(), " does not match ",
                 blobs_[0]->count(), " slope(s)");
    }
    top[0]->ReshapeLike(in);
    if (top[0] == bottom[0]) bottom_copy_.ReshapeLike(in);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    const float* x = in.cpu_data();
    // In place, keep x for the backward pass before y overwrites it.
    if (top[0] == bottom[0]) {
      Copy(in.count(), x, bottom_copy_.mutable_cpu_data());
      x = bottom_copy_.cpu_data();
    }
    float* y = top[0]->mutable_cpu_data();
    const float* slopes = blobs_[0]->cpu_data();
    const int64_t num = in.shape(0);
    const int channels = in.shape(1);
    const int64_t dim = in.count(2);
    for (int64_t n = 0; n < num; ++n) {
      for (int c = 0; c < channels; ++c) {
        const float a = slopes[channel_shared_ ? 0 : c];
        const int64_t base = (n * channels + c) * dim;
        for (int64_t i = base; i < base + dim; ++i) y[i] = PreluValue(x[i], a);
      }
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    const Blob& in = *bottom[0];
    const float* x = top[0] == bottom[0] ? bottom_copy_.cpu_data() : in.cpu_data();
    const float* dy = top[0]->cpu_diff();
    const int64_t num = in.shape(0);
    const int channels = in.shape(1);
    const int64_t dim = in.count(2);
    // The slope gradient first: in place, dx overwrites dy below.
    if (param_propagate_down(0)) {
      float* da = blobs_[0]->mutable_cpu_diff();
      for (int64_t n = 0; n < num; ++n) {
        for (int c = 0; c < channels; ++c) {
          const int64_t base = (n * channels + c) * dim;
          float sum = 0;
          for (int64_t i = base; i < base + dim; ++i) sum += PreluSlopeGradient(dy[i], x[i]);
          da[channel_shared_ ? 0 : c] += sum;
        }
      }
    }
    if (propagate_down[0]) {
      const float* slopes = blobs_[0]->cpu_data();
      float* dx = bottom[0]->mutable_cpu_diff();
      for (int64_t n = 0; n < num; ++n) {
        for (int c = 0; c < channels; ++c) {
          const float a = slopes[channel_shared_ ? 0 : c];
          const int64_t base = (n * channels + c) * dim;
          for (int64_t i = base; i < base + dim; ++i) dx[i] = PreluGradient(dy[i], x[i], a);
        }
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    const float* x = in.gpu_data();
    if (top[0] == bottom[0]) {
      gpu::Copy(in.count(), x, bottom_copy_.mutable_gpu_data());
      x = bottom_copy_.gpu_data();
    }
    PreluForwardGpu(in.shape(0), in.shape(1), in.count(2), x, blobs_[0]->gpu_data(),
                    blobs_[0]->count(), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    const Blob& in = *bottom[0];
    const float* x = top[0] == bottom[0] ? bottom_copy_.gpu_data() : in.gpu_data();
    const float* dy = top[0]->gpu_diff();
    // The slope gradient first: in place, dx overwrites dy below.
    if (param_propagate_down(0)) {
      PreluSlopeBackwardGpu(in.shape(0), in.shape(1), in.count(2), dy, x, blobs_[0]->count(),
                            blobs_[0]->mutable_gpu_diff());
    }
    if (propagate_down[0]) {
      PreluBackwardGpu(in.shape(0), in.shape(1), in.count(2), dy, x, blobs_[0]->gpu_data(),
                       blobs_[0]->count(), bottom[0]->mutable_gpu_diff());
    }
  }
#endif

 private:
  bool channel_shared_ = false;
  Blob bottom_copy_;  // x, when running in place
};

}  // namespace

CORTADO_REGISTER_LAYER(PReLU, PreluLayer)

}  // namespace cortado
