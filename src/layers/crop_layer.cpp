// Crop: cuts bottom 0 down to the shape of bottom 1 on the axes from
// `axis` on, starting at the given offsets (FCN-style alignment).
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "layer_axis.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// crop_layer.cu
void CropGpu(const std::vector<int>& bottom_shape, const std::vector<int>& top_shape,
             const std::vector<int>& offsets, bool backward, const float* from, float* to);
#endif

namespace {

class CropLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Crop"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::CropParameter& p = layer_param_.crop_param();
    const Blob& in = *bottom[0];
    const Blob& like = *bottom[1];
    if (in.num_axes() != like.num_axes()) {
      ThrowError(ErrorPrefix(), "bottoms ", in.shape_string(), " and ", like.shape_string(),
                 " must have the same number of axes");
    }
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    const int axes = in.num_axes();
    const int start = CanonicalAxisOrThrow(in, p.axis(), ErrorPrefix(), "crop_param.axis");
    if (p.offset_size() > 1 && p.offset_size() != axes - start) {
      ThrowError(ErrorPrefix(), "has ", p.offset_size(), " crop_param.offset values; give one ",
                 "(for every axis) or one per cropped axis (", axes - start, ")");
    }
    std::vector<int> shape = in.shape();
    offsets_.assign(axes, 0);
    for (int a = start; a < axes; ++a) {
      const int offset = p.offset_size() == 0   ? 0
                         : p.offset_size() == 1 ? static_cast<int>(p.offset(0))
                                                : static_cast<int>(p.offset(a - start));
      if (offset + like.shape(a) > in.shape(a)) {
        ThrowError(ErrorPrefix(), "crop of size ", like.shape(a), " at offset ", offset,
                   " on axis ", a, " is out of bounds for bottom ", in.shape_string());
      }
      shape[a] = like.shape(a);
      offsets_[a] = offset;
    }
    top[0]->Reshape(shape);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    ForEachRow(*bottom[0], *top[0], [&](int64_t from, int64_t to, int64_t n) {
      Copy(n, x + from, y + to);
    });
  }

  // Bottom 1 only gives a shape: its gradient is zero.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down.size() > 1 && propagate_down[1]) {
      Set(bottom[1]->count(), 0.f, bottom[1]->mutable_cpu_diff());
    }
    if (!propagate_down[0]) return;
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    Set(bottom[0]->count(), 0.f, dx);
    ForEachRow(*bottom[0], *top[0], [&](int64_t from, int64_t to, int64_t n) {
      Copy(n, dy + to, dx + from);
    });
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    CropGpu(bottom[0]->shape(), top[0]->shape(), offsets_, false, bottom[0]->gpu_data(),
            top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (propagate_down.size() > 1 && propagate_down[1]) {
      gpu::Set(bottom[1]->count(), 0.f, bottom[1]->mutable_gpu_diff());
    }
    if (!propagate_down[0]) return;
    float* dx = bottom[0]->mutable_gpu_diff();
    gpu::Set(bottom[0]->count(), 0.f, dx);
    CropGpu(bottom[0]->shape(), top[0]->shape(), offsets_, true, top[0]->gpu_diff(), dx);
  }
#endif

 private:
  // Calls copy(bottom_offset, top_offset, length) for every contiguous row
  // of the top (its last axis), walking the other axes like an odometer.
  template <typename CopyRow>
  void ForEachRow(const Blob& in, const Blob& out, CopyRow copy) const {
    const int axes = out.num_axes();
    if (out.count() == 0) return;
    if (axes == 0) {
      copy(0, 0, 1);
      return;
    }
    const int64_t row = out.shape(axes - 1);
    const int64_t rows = out.count() / row;
    std::vector<int> index(axes, 0);  // position in the top; last axis unused
    for (int64_t r = 0; r < rows; ++r) {
      int64_t from = 0;
      for (int a = 0; a < axes; ++a) from = from * in.shape(a) + index[a] + offsets_[a];
      copy(from, r * row, row);
      for (int a = axes - 2; a >= 0; --a) {
        if (++index[a] < out.shape(a)) break;
        index[a] = 0;
      }
    }
  }

  std::vector<int> offsets_;  // per axis, zero before crop_param.axis
};

}  // namespace

CORTADO_REGISTER_LAYER(Crop, CropLayer)

}  // namespace cortado
