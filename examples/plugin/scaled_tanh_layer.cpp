// ScaledTanh, an example plugin layer: y = a_c * tanh(x) with one learnable
// scale a_c per channel (axis 1). Built as its own .so against an installed
// Cortado and loaded with `cortado --plugin=...`, CORTADO_PLUGIN_PATH or
// caffe.load_plugin(...). The initial scales come from scale_param.filler
// (1 when none is given), so the layer needs no field of its own in
// caffe.proto.
#include <cmath>
#include <memory>
#include <vector>

#include "cortado/filler.hpp"
#include "cortado/layer.hpp"
#include "cortado/plugin.hpp"
#ifdef CORTADO_WITH_CUDA
#include "scaled_tanh_kernels.hpp"
#endif

namespace scaled_tanh {

using cortado::Blob;
using cortado::BlobVec;

class ScaledTanhLayer : public cortado::Layer {
 public:
  using Layer::Layer;
  // The installed Cortado says whether it has the CUDA backend; the kernels
  // in scaled_tanh_kernels.cu are compiled exactly when it does.
#ifdef CORTADO_WITH_CUDA
  static constexpr unsigned kDevices = cortado::kLayerCpu | cortado::kLayerCuda;
#else
  static constexpr unsigned kDevices = cortado::kLayerCpu;
#endif

  const char* type() const override { return "ScaledTanh"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    if (bottom[0]->num_axes() < 2) {
      cortado::ThrowError(ErrorPrefix(), "bottom of shape ", bottom[0]->shape_string(),
                          " needs at least 2 axes (one scale per channel, axis 1)");
    }
    const int channels = bottom[0]->shape(1);
    if (!blobs_.empty()) {  // restored from a caffemodel
      if (blobs_.size() != 1 || blobs_[0]->count() != channels) {
        cortado::ThrowError(ErrorPrefix(), "expects one blob of ", channels, " scales");
      }
      return;
    }
    blobs_.push_back(std::make_unique<Blob>(std::vector<int>{channels}));
    if (layer_param_.scale_param().has_filler()) {
      cortado::FillBlob(layer_param_.scale_param().filler(), blobs_[0].get());
    } else {
      float* scale = blobs_[0]->mutable_cpu_data();
      for (int c = 0; c < channels; ++c) scale[c] = 1.0f;
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    // The backward pass reads x; in place, y would have overwritten it.
    if (top[0] == bottom[0]) {
      cortado::ThrowError(ErrorPrefix(), "cannot run in place: give it its own top");
    }
    if (bottom[0]->num_axes() < 2 || bottom[0]->shape(1) != blobs_[0]->count()) {
      cortado::ThrowError(ErrorPrefix(), "bottom of shape ", bottom[0]->shape_string(),
                          " does not match ", blobs_[0]->count(), " scales");
    }
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    const float* scale = blobs_[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    ForEachChannel(*bottom[0], [&](int64_t begin, int64_t end, int c) {
      for (int64_t i = begin; i < end; ++i) y[i] = scale[c] * std::tanh(x[i]);
    });
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    const float* x = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    const float* scale = blobs_[0]->cpu_data();
    // Parameter gradients accumulate (the solver clears them).
    if (param_propagate_down(0)) {
      float* dscale = blobs_[0]->mutable_cpu_diff();
      ForEachChannel(*bottom[0], [&](int64_t begin, int64_t end, int c) {
        double sum = 0;
        for (int64_t i = begin; i < end; ++i) sum += dy[i] * std::tanh(x[i]);
        dscale[c] += static_cast<float>(sum);
      });
    }
    if (propagate_down[0]) {
      float* dx = bottom[0]->mutable_cpu_diff();
      ForEachChannel(*bottom[0], [&](int64_t begin, int64_t end, int c) {
        for (int64_t i = begin; i < end; ++i) {
          const float t = std::tanh(x[i]);
          dx[i] = dy[i] * scale[c] * (1 - t * t);
        }
      });
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    ScaledTanhForwardGpu(in.count(), in.shape(1), in.count(2), in.gpu_data(),
                         blobs_[0]->gpu_data(), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    const Blob& in = *bottom[0];
    if (param_propagate_down(0)) {
      ScaledTanhScaleBackwardGpu(in.shape(0), in.shape(1), in.count(2), top[0]->gpu_diff(),
                                 in.gpu_data(), blobs_[0]->mutable_gpu_diff());
    }
    if (propagate_down[0]) {
      ScaledTanhBackwardGpu(in.count(), in.shape(1), in.count(2), top[0]->gpu_diff(),
                            in.gpu_data(), blobs_[0]->gpu_data(), bottom[0]->mutable_gpu_diff());
    }
  }
#endif

 private:
  // Calls body(begin, end, channel) for every (item, channel) run of
  // contiguous elements of an N x C x ... blob.
  template <typename Body>
  static void ForEachChannel(const Blob& blob, Body body) {
    const int64_t num = blob.shape(0);
    const int channels = blob.shape(1);
    const int64_t dim = blob.count(2);
    for (int64_t n = 0; n < num; ++n) {
      for (int c = 0; c < channels; ++c) {
        const int64_t begin = (n * channels + c) * dim;
        body(begin, begin + dim, c);
      }
    }
  }
};

// Defines RegisterScaledTanhLayer(), as a built-in layer file would.
CORTADO_REGISTER_LAYER(ScaledTanh, ScaledTanhLayer)

}  // namespace scaled_tanh

// The plugin's entry point: the version handshake plus registration.
CORTADO_PLUGIN_ENTRY { scaled_tanh::RegisterScaledTanhLayer(); }
