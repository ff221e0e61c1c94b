// Im2col: exposes convolution's patch unfolding as a layer; each output
// position holds the C * kernel_h * kernel_w values under its window.
#include <vector>

#include "cortado/conv_param.hpp"
#include "cortado/im2col.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"

#ifdef CORTADO_WITH_CUDA
#include "cortado/im2col_gpu.hpp"
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {
namespace {

class Im2colLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Im2col"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    ReadConvWindow(layer_param_.convolution_param(), ErrorPrefix(), &geometry_);
    if (layer_param_.convolution_param().axis() != 1) {
      ThrowError(ErrorPrefix(), "only axis 1 (NCHW) is supported");
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    if (in.num_axes() != 4) {
      ThrowError(ErrorPrefix(), "needs a 4-D bottom (num, channels, height, width), got ",
                 in.shape_string());
    }
    ConvGeometry& g = geometry_;
    g.channels = in.shape(1);
    g.height = in.shape(2);
    g.width = in.shape(3);
    if (g.output_h() <= 0 || g.output_w() <= 0 ||
        g.height + 2 * g.pad_h < g.dilation_h * (g.kernel_h - 1) + 1 ||
        g.width + 2 * g.pad_w < g.dilation_w * (g.kernel_w - 1) + 1) {
      ThrowError(ErrorPrefix(), "kernel ", g.kernel_h, "x", g.kernel_w, " does not fit the input ",
                 in.shape_string());
    }
    top[0]->Reshape({in.shape(0), g.channels * g.kernel_h * g.kernel_w, g.output_h(),
                     g.output_w()});
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t in_dim = bottom[0]->count(1);
    const int64_t out_dim = top[0]->count(1);
    const int64_t out_spatial = top[0]->count(2);
    for (int n = 0; n < bottom[0]->shape(0); ++n) {
      Im2col(bottom[0]->cpu_data() + n * in_dim, geometry_, out_spatial,
             top[0]->mutable_cpu_data() + n * out_dim);
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t in_dim = bottom[0]->count(1);
    const int64_t out_dim = top[0]->count(1);
    const int64_t out_spatial = top[0]->count(2);
    for (int n = 0; n < bottom[0]->shape(0); ++n) {
      float* dx = bottom[0]->mutable_cpu_diff() + n * in_dim;
      Set(in_dim, 0.f, dx);
      Col2im(top[0]->cpu_diff() + n * out_dim, geometry_, out_spatial, dx);
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t in_dim = bottom[0]->count(1);
    const int64_t out_dim = top[0]->count(1);
    const int64_t out_spatial = top[0]->count(2);
    const float* x = bottom[0]->gpu_data();
    float* y = top[0]->mutable_gpu_data();
    for (int n = 0; n < bottom[0]->shape(0); ++n) {
      gpu::Im2col(x + n * in_dim, geometry_, out_spatial, y + n * out_dim);
    }
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t in_dim = bottom[0]->count(1);
    const int64_t out_dim = top[0]->count(1);
    const int64_t out_spatial = top[0]->count(2);
    const float* dy = top[0]->gpu_diff();
    float* dx = bottom[0]->mutable_gpu_diff();
    gpu::Set(bottom[0]->count(), 0.f, dx);
    for (int n = 0; n < bottom[0]->shape(0); ++n) {
      gpu::Col2im(dy + n * out_dim, geometry_, out_spatial, dx + n * in_dim);
    }
  }
#endif

 private:
  ConvGeometry geometry_;
};

}  // namespace

CORTADO_REGISTER_LAYER(Im2col, Im2colLayer)

}  // namespace cortado
