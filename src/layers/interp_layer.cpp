// Interp (PSPNet, DeepLab): bilinear resize with aligned corners (the first
// and last rows/columns of input and output coincide). The output size comes
// from a second bottom, height/width, or shrink/zoom factors; non-positive
// pad_beg/pad_end crop the input first.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "interp_math.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// interp_layer.cu. The backward adds into dx (zero it first).
void InterpForwardGpu(const InterpGeometry& g, const float* x, float* y);
void InterpBackwardGpu(const InterpGeometry& g, const float* dy, float* dx);
#endif

namespace {

class InterpLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Interp"; }
  int MinBottomBlobs() const override { return 1; }
  int MaxBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  // The second bottom only supplies a size.
  bool AllowForceBackward(int bottom_index) const override { return bottom_index == 0; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    const Blob& in = *bottom[0];
    if (in.num_axes() != 4) {
      ThrowError(ErrorPrefix(), "bottom must be N x C x H x W, got ", in.shape_string());
    }
    const caffe::InterpParameter& p = layer_param_.interp_param();
    pad_beg_ = p.pad_beg();
    if (pad_beg_ > 0 || p.pad_end() > 0) {
      ThrowError(ErrorPrefix(), "interp_param.pad_beg and pad_end must be <= 0 (cropping)");
    }
    in_h_ = in.height() + pad_beg_ + p.pad_end();
    in_w_ = in.width() + pad_beg_ + p.pad_end();
    if (in_h_ <= 0 || in_w_ <= 0) {
      ThrowError(ErrorPrefix(), "interp_param padding crops all of bottom ", in.shape_string());
    }
    if (bottom.size() == 2) {
      if (bottom[1]->num_axes() != 4) {
        ThrowError(ErrorPrefix(), "size bottom must have 4 axes, got ", bottom[1]->shape_string());
      }
      out_h_ = bottom[1]->height();
      out_w_ = bottom[1]->width();
    } else if (p.has_height() || p.has_width()) {
      if (!p.has_height() || !p.has_width()) {
        ThrowError(ErrorPrefix(), "set both interp_param.height and width");
      }
      out_h_ = p.height();
      out_w_ = p.width();
    } else if (p.has_shrink_factor() || p.has_zoom_factor()) {
      if (p.shrink_factor() < 1 || p.zoom_factor() < 1) {
        ThrowError(ErrorPrefix(), "interp_param shrink_factor and zoom_factor must be >= 1");
      }
      // Shrink first, then zoom, keeping corners aligned: n -> (n-1)/s + 1
      // -> (m-1)*z + 1.
      out_h_ = ((in_h_ - 1) / p.shrink_factor() + 1 - 1) * p.zoom_factor() + 1;
      out_w_ = ((in_w_ - 1) / p.shrink_factor() + 1 - 1) * p.zoom_factor() + 1;
    } else {
      ThrowError(ErrorPrefix(),
                 "give a second bottom, interp_param height/width, or "
                 "shrink_factor/zoom_factor");
    }
    if (out_h_ <= 0 || out_w_ <= 0) {
      ThrowError(ErrorPrefix(), "output size ", out_h_, " x ", out_w_, " must be positive");
    }
    top[0]->Reshape({in.num(), in.channels(), out_h_, out_w_});
    rows_ = Taps(in_h_, out_h_, -pad_beg_);
    cols_ = Taps(in_w_, out_w_, -pad_beg_);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    const int64_t planes = in.count(0, 2);
    const int64_t in_plane = in.count(2);
    const int width = in.width();
    const float* x = in.cpu_data();
    float* y = top[0]->mutable_cpu_data();
    for (int64_t p = 0; p < planes; ++p) {
      const float* xp = x + p * in_plane;
      for (int h = 0; h < out_h_; ++h) {
        const InterpTap& r = rows_[h];
        for (int w = 0; w < out_w_; ++w) *y++ = InterpBlend(xp, width, r, cols_[w]);
      }
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const Blob& in = *bottom[0];
    const int64_t planes = in.count(0, 2);
    const int64_t in_plane = in.count(2);
    const int width = in.width();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    Set(in.count(), 0.f, dx);
    for (int64_t p = 0; p < planes; ++p) {
      float* dxp = dx + p * in_plane;
      for (int h = 0; h < out_h_; ++h) {
        const InterpTap& r = rows_[h];
        for (int w = 0; w < out_w_; ++w) {
          const InterpTap& c = cols_[w];
          const float g = *dy++;
          dxp[r.i0 * width + c.i0] += r.w0 * c.w0 * g;
          dxp[r.i0 * width + c.i1] += r.w0 * c.w1 * g;
          dxp[r.i1 * width + c.i0] += r.w1 * c.w0 * g;
          dxp[r.i1 * width + c.i1] += r.w1 * c.w1 * g;
        }
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  // The kernels compute the taps on the fly with the same InterpTapAt.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    InterpForwardGpu(Geometry(*bottom[0]), bottom[0]->gpu_data(), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    float* dx = bottom[0]->mutable_gpu_diff();
    gpu::Set(bottom[0]->count(), 0.f, dx);
    InterpBackwardGpu(Geometry(*bottom[0]), top[0]->gpu_diff(), dx);
  }

  InterpGeometry Geometry(const Blob& in) const {
    return {in.count(0, 2), in.height(), in.width(), in_h_, in_w_, out_h_, out_w_, -pad_beg_};
  }
#endif

 private:
  static std::vector<InterpTap> Taps(int in_size, int out_size, int offset) {
    const float ratio = InterpRatio(in_size, out_size);
    std::vector<InterpTap> taps(out_size);
    for (int o = 0; o < out_size; ++o) taps[o] = InterpTapAt(o, ratio, in_size, offset);
    return taps;
  }

  int pad_beg_ = 0;
  int in_h_ = 0, in_w_ = 0, out_h_ = 0, out_w_ = 0;
  std::vector<InterpTap> rows_, cols_;
};

}  // namespace

CORTADO_REGISTER_LAYER(Interp, InterpLayer)

}  // namespace cortado
