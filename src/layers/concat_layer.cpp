// Concat: joins its bottoms along one axis.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "../util/copy_rows_gpu.hpp"

namespace cortado {

class ConcatLayer : public Layer {
 public:
  explicit ConcatLayer(const caffe::LayerParameter& param) : Layer(param) {}
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;
  const char* type() const override { return "Concat"; }
  bool CheapToRecompute() const override { return true; }  // a copy
  // Backward moves diffs only.
  bool BackwardReadsBottomData(int) const override { return false; }
  bool BackwardReadsTopData(int) const override { return false; }
  int MinBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  void Reshape(const BlobVec& bottom, const BlobVec& top) override;

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override;

 private:
  int axis_ = 1;
  int64_t outer_ = 0;  // product of the axes before axis_
  int64_t inner_ = 0;  // product of the axes after axis_
};

void ConcatLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::ConcatParameter& p = layer_param_.concat_param();
  if (p.has_axis() && p.has_concat_dim()) {
    ThrowError(ErrorPrefix(), "give either axis or concat_dim (its legacy name), not both");
  }
}

void ConcatLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  const caffe::ConcatParameter& p = layer_param_.concat_param();
  const Blob& first = *bottom[0];
  if (p.has_concat_dim()) {
    axis_ = static_cast<int>(p.concat_dim());
    if (axis_ >= first.num_axes()) {
      ThrowError(ErrorPrefix(), "concat_dim ", axis_, " is out of range for bottom ",
                 first.shape_string());
    }
  } else {
    axis_ = first.CanonicalAxisIndex(p.axis());
  }
  std::vector<int> shape = first.shape();
  for (size_t i = 1; i < bottom.size(); ++i) {
    const Blob& b = *bottom[i];
    bool compatible = b.num_axes() == first.num_axes();
    for (int a = 0; compatible && a < first.num_axes(); ++a) {
      if (a != axis_ && b.shape(a) != first.shape(a)) compatible = false;
    }
    if (!compatible) {
      ThrowError(ErrorPrefix(), "bottom ", i, " ", b.shape_string(),
                 " does not match bottom 0 ", first.shape_string(),
                 " on every axis except the concat axis ", axis_);
    }
    shape[axis_] += b.shape(axis_);
  }
  outer_ = first.count(0, axis_);
  inner_ = first.count(axis_ + 1);
  top[0]->Reshape(shape);
}

// One body for both devices (ForwardGpu/BackwardGpu keep Layer's defaults):
// each bottom fills `block` values of every top block of `top_block` values,
// starting at its offset.
void ConcatLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const bool gpu = runs_on_cuda();
  float* out = gpu ? top[0]->mutable_gpu_data() : top[0]->mutable_cpu_data();
  const int64_t top_block = top[0]->shape(axis_) * inner_;
  int64_t offset = 0;  // where this bottom starts inside each top block
  for (Blob* b : bottom) {
    const int64_t block = b->shape(axis_) * inner_;
    CopyRowsOn(gpu, outer_, block, gpu ? b->gpu_data() : b->cpu_data(), block, out + offset,
               top_block);
    offset += block;
  }
}

void ConcatLayer::BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                               const BlobVec& bottom) {
  const bool gpu = runs_on_cuda();
  const float* out_diff = gpu ? top[0]->gpu_diff() : top[0]->cpu_diff();
  const int64_t top_block = top[0]->shape(axis_) * inner_;
  int64_t offset = 0;
  for (size_t i = 0; i < bottom.size(); ++i) {
    const int64_t block = bottom[i]->shape(axis_) * inner_;
    if (propagate_down[i]) {
      float* in_diff = gpu ? bottom[i]->mutable_gpu_diff() : bottom[i]->mutable_cpu_diff();
      CopyRowsOn(gpu, outer_, block, out_diff + offset, top_block, in_diff, block);
    }
    offset += block;
  }
}

CORTADO_REGISTER_LAYER(Concat, ConcatLayer)

}  // namespace cortado
