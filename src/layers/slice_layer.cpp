// Slice: splits the bottom along one axis into consecutive tops, at the
// given slice points or into equal parts.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "../util/copy_rows_gpu.hpp"
#include "layer_axis.hpp"

namespace cortado {
namespace {

class SliceLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Slice"; }
  // Backward moves diffs only.
  bool BackwardReadsBottomData(int) const override { return false; }
  bool BackwardReadsTopData(int) const override { return false; }
  int ExactNumBottomBlobs() const override { return 1; }
  int MinTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::SliceParameter& p = layer_param_.slice_param();
    if (p.has_axis() && p.has_slice_dim()) {
      ThrowError(ErrorPrefix(), "give slice_param.axis or the legacy slice_dim, not both");
    }
    slice_points_.assign(p.slice_point().begin(), p.slice_point().end());
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::SliceParameter& p = layer_param_.slice_param();
    const Blob& in = *bottom[0];
    // slice_dim predates negative axes: it is taken as given.
    if (p.has_slice_dim()) {
      if (static_cast<int>(p.slice_dim()) >= in.num_axes()) {
        ThrowError(ErrorPrefix(), "slice_param.slice_dim ", p.slice_dim(),
                   " is out of range for bottom of shape ", in.shape_string());
      }
      axis_ = static_cast<int>(p.slice_dim());
    } else {
      axis_ = CanonicalAxisOrThrow(in, p.axis(), ErrorPrefix(), "slice_param.axis");
    }
    const int dim = in.shape(axis_);
    const int tops = static_cast<int>(top.size());
    sizes_.clear();
    if (!slice_points_.empty()) {
      if (static_cast<int>(slice_points_.size()) != tops - 1) {
        ThrowError(ErrorPrefix(), "has ", slice_points_.size(), " slice_point(s) for ", tops,
                   " tops; give one fewer slice_point than tops");
      }
      int previous = 0;
      for (int point : slice_points_) {
        if (point <= previous || point >= dim) {
          ThrowError(ErrorPrefix(), "slice_point ", point, " must increase and lie in (0, ",
                     dim, ") for axis ", axis_, " of bottom ", in.shape_string());
        }
        sizes_.push_back(point - previous);
        previous = point;
      }
      sizes_.push_back(dim - previous);
    } else {
      if (dim % tops != 0) {
        ThrowError(ErrorPrefix(), "cannot split axis ", axis_, " of size ", dim, " into ",
                   tops, " equal parts; give slice_point values");
      }
      sizes_.assign(tops, dim / tops);
    }
    std::vector<int> shape = in.shape();
    for (int t = 0; t < tops; ++t) {
      shape[axis_] = sizes_[t];
      top[t]->Reshape(shape);
    }
    // One top is the bottom itself: share rather than copy.
    if (tops == 1) {
      top[0]->ShareData(in);
      top[0]->ShareDiff(in);
    }
  }

 protected:
  // One body for both devices (ForwardGpu/BackwardGpu keep Layer's
  // defaults): top t is one strided run per position before the axis.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    if (top.size() == 1) return;
    const bool gpu = runs_on_cuda();
    const float* x = gpu ? bottom[0]->gpu_data() : bottom[0]->cpu_data();
    const int64_t outer = bottom[0]->count(0, axis_), inner = bottom[0]->count(axis_ + 1);
    const int64_t stride = bottom[0]->shape(axis_) * inner;
    for (size_t t = 0; t < top.size(); ++t) {
      const int64_t run = sizes_[t] * inner;
      float* y = gpu ? top[t]->mutable_gpu_data() : top[t]->mutable_cpu_data();
      CopyRowsOn(gpu, outer, run, x + SliceStart(t) * inner, stride, y, run);
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0] || top.size() == 1) return;
    const bool gpu = runs_on_cuda();
    float* dx = gpu ? bottom[0]->mutable_gpu_diff() : bottom[0]->mutable_cpu_diff();
    const int64_t outer = bottom[0]->count(0, axis_), inner = bottom[0]->count(axis_ + 1);
    const int64_t stride = bottom[0]->shape(axis_) * inner;
    for (size_t t = 0; t < top.size(); ++t) {
      const int64_t run = sizes_[t] * inner;
      const float* dy = gpu ? top[t]->gpu_diff() : top[t]->cpu_diff();
      CopyRowsOn(gpu, outer, run, dy, run, dx + SliceStart(t) * inner, stride);
    }
  }

 private:
  // Where top t begins along axis_.
  int SliceStart(size_t t) const {
    int start = 0;
    for (size_t k = 0; k < t; ++k) start += sizes_[k];
    return start;
  }

  std::vector<int> slice_points_;
  std::vector<int> sizes_;  // each top's extent along axis_
  int axis_ = 1;
};

}  // namespace

CORTADO_REGISTER_LAYER(Slice, SliceLayer)

}  // namespace cortado
