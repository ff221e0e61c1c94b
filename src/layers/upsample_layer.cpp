// Upsample (SegNet and others): with one bottom, nearest-neighbour
// upsampling by integer factors; with a second bottom holding a max-pooling
// mask (the argmax top of Pooling), SegNet's unpooling: each value goes to
// the position its mask names in the output plane, the rest are zero.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "upsample_math.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// upsample_layer.cu. The mask versions return false, with the offending
// value in *bad_value, when a mask value is outside the output plane.
void UpsampleNearestForwardGpu(const UpsampleGeometry& g, const float* x, float* y);
void UpsampleNearestBackwardGpu(const UpsampleGeometry& g, const float* dy, float* dx);
// y must be zero.
bool UpsampleMaskForwardGpu(const UpsampleGeometry& g, const float* x, const float* mask,
                            float* y, float* bad_value);
bool UpsampleMaskBackwardGpu(const UpsampleGeometry& g, const float* dy, const float* mask,
                             float* dx, float* bad_value);
#endif

namespace {

class UpsampleLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Upsample"; }
  int MinBottomBlobs() const override { return 1; }
  int MaxBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  // The mask holds indices, not values.
  bool AllowForceBackward(int bottom_index) const override { return bottom_index == 0; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::UpsampleParameter& p = layer_param_.upsample_param();
    scale_h_ = static_cast<int>(p.has_scale_h() ? p.scale_h() : p.scale());
    scale_w_ = static_cast<int>(p.has_scale_w() ? p.scale_w() : p.scale());
    if (scale_h_ <= 0 || scale_w_ <= 0) {
      ThrowError(ErrorPrefix(), "upsample_param scale factors must be positive, got ", scale_h_,
                 " x ", scale_w_);
    }
    if (p.has_upsample_h() != p.has_upsample_w()) {
      ThrowError(ErrorPrefix(), "set both upsample_param.upsample_h and upsample_w, or neither");
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    const Blob& in = *bottom[0];
    if (in.num_axes() != 4) {
      ThrowError(ErrorPrefix(), "bottom must be N x C x H x W, got ", in.shape_string());
    }
    if (bottom.size() == 2 && bottom[1]->shape() != in.shape()) {
      ThrowError(ErrorPrefix(), "mask bottom ", bottom[1]->shape_string(),
                 " must have the data bottom's shape ", in.shape_string());
    }
    const caffe::UpsampleParameter& p = layer_param_.upsample_param();
    if (p.has_upsample_h()) {
      out_h_ = static_cast<int>(p.upsample_h());
      out_w_ = static_cast<int>(p.upsample_w());
    } else {
      out_h_ = in.height() * scale_h_ - (p.pad_out_h() ? 1 : 0);
      out_w_ = in.width() * scale_w_ - (p.pad_out_w() ? 1 : 0);
    }
    if (out_h_ <= 0 || out_w_ <= 0) {
      ThrowError(ErrorPrefix(), "output size ", out_h_, " x ", out_w_, " must be positive");
    }
    top[0]->Reshape({in.num(), in.channels(), out_h_, out_w_});
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    const int64_t planes = in.count(0, 2);
    const int64_t in_plane = in.count(2);
    const int64_t out_plane = static_cast<int64_t>(out_h_) * out_w_;
    const float* x = in.cpu_data();
    float* y = top[0]->mutable_cpu_data();
    if (bottom.size() == 2) {
      Set(top[0]->count(), 0.f, y);
      const float* mask = bottom[1]->cpu_data();
      for (int64_t p = 0; p < planes; ++p) {
        for (int64_t i = 0; i < in_plane; ++i) {
          y[p * out_plane + MaskIndex(mask[p * in_plane + i])] = x[p * in_plane + i];
        }
      }
      return;
    }
    for (int64_t p = 0; p < planes; ++p) {
      for (int h = 0; h < out_h_; ++h) {
        for (int w = 0; w < out_w_; ++w) {
          y[p * out_plane + h * out_w_ + w] = x[p * in_plane + NearestSource(in, h, w)];
        }
      }
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const Blob& in = *bottom[0];
    const int64_t planes = in.count(0, 2);
    const int64_t in_plane = in.count(2);
    const int64_t out_plane = static_cast<int64_t>(out_h_) * out_w_;
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    if (bottom.size() == 2) {
      const float* mask = bottom[1]->cpu_data();
      for (int64_t p = 0; p < planes; ++p) {
        for (int64_t i = 0; i < in_plane; ++i) {
          dx[p * in_plane + i] = dy[p * out_plane + MaskIndex(mask[p * in_plane + i])];
        }
      }
      return;
    }
    const UpsampleGeometry g = Geometry(in);
    for (int64_t p = 0; p < planes; ++p) {
      for (int sh = 0; sh < g.in_h; ++sh) {
        for (int sw = 0; sw < g.in_w; ++sw) {
          *dx++ = UpsampleNearestGradient(dy + p * out_plane, sh, sw, g);
        }
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const UpsampleGeometry g = Geometry(*bottom[0]);
    const float* x = bottom[0]->gpu_data();
    float* y = top[0]->mutable_gpu_data();
    if (bottom.size() == 2) {
      gpu::Set(top[0]->count(), 0.f, y);
      float bad_value = 0;
      if (!UpsampleMaskForwardGpu(g, x, bottom[1]->gpu_data(), y, &bad_value)) {
        MaskIndex(bad_value);  // throws
      }
      return;
    }
    UpsampleNearestForwardGpu(g, x, y);
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const UpsampleGeometry g = Geometry(*bottom[0]);
    const float* dy = top[0]->gpu_diff();
    float* dx = bottom[0]->mutable_gpu_diff();
    if (bottom.size() == 2) {
      float bad_value = 0;
      if (!UpsampleMaskBackwardGpu(g, dy, bottom[1]->gpu_data(), dx, &bad_value)) {
        MaskIndex(bad_value);  // throws
      }
      return;
    }
    UpsampleNearestBackwardGpu(g, dy, dx);
  }

#endif

 private:
  UpsampleGeometry Geometry(const Blob& in) const {
    return {in.count(0, 2), in.height(), in.width(), out_h_, out_w_, scale_h_, scale_w_};
  }

  // Offset inside an input plane of the value output (h, w) repeats.
  int64_t NearestSource(const Blob& in, int h, int w) const {
    const int sh = UpsampleNearestSource(h, scale_h_, in.height());
    const int sw = UpsampleNearestSource(w, scale_w_, in.width());
    return static_cast<int64_t>(sh) * in.width() + sw;
  }

  int64_t MaskIndex(float value) const {
    if (!UpsampleMaskValid(value, static_cast<int64_t>(out_h_) * out_w_)) {
      ThrowError(ErrorPrefix(), "mask index ", value, " is outside the ", out_h_, " x ", out_w_,
                 " output plane");
    }
    return static_cast<int64_t>(value);
  }

  int scale_h_ = 2;
  int scale_w_ = 2;
  int out_h_ = 0;
  int out_w_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(Upsample, UpsampleLayer)

}  // namespace cortado
