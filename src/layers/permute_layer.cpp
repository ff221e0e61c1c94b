// Permute (SSD): reorders a blob's axes. permute_param.order lists the new
// axis order; axes it leaves out follow in their original order.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class PermuteLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "Permute"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    const Blob& in = *bottom[0];
    const int axes = in.num_axes();
    std::vector<bool> used(axes, false);
    order_.clear();
    for (uint32_t axis : layer_param_.permute_param().order()) {
      if (static_cast<int>(axis) >= axes) {
        ThrowError(ErrorPrefix(), "permute_param.order names axis ", axis,
                   " but the bottom has shape ", in.shape_string());
      }
      if (used[axis]) ThrowError(ErrorPrefix(), "permute_param.order repeats axis ", axis);
      used[axis] = true;
      order_.push_back(static_cast<int>(axis));
    }
    for (int axis = 0; axis < axes; ++axis) {
      if (!used[axis]) order_.push_back(axis);
    }
    std::vector<int> shape(axes);
    for (int i = 0; i < axes; ++i) shape[i] = in.shape(order_[i]);
    top[0]->Reshape(shape);
    // source_[j]: the bottom offset of top element j.
    source_.assign(in.count(), 0);
    std::vector<int64_t> in_stride(axes, 1);
    for (int a = axes - 2; a >= 0; --a) in_stride[a] = in_stride[a + 1] * in.shape(a + 1);
    std::vector<int> index(axes, 0);
    for (int64_t j = 0; j < in.count(); ++j) {
      int64_t offset = 0;
      for (int i = 0; i < axes; ++i) offset += index[i] * in_stride[order_[i]];
      source_[j] = offset;
      for (int i = axes - 1; i >= 0; --i) {  // odometer over the top's shape
        if (++index[i] < shape[i]) break;
        index[i] = 0;
      }
    }
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    for (size_t j = 0; j < source_.size(); ++j) y[j] = x[source_[j]];
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    for (size_t j = 0; j < source_.size(); ++j) dx[source_[j]] = dy[j];
  }

 private:
  std::vector<int> order_;
  std::vector<int64_t> source_;
};

}  // namespace

CORTADO_REGISTER_LAYER(Permute, PermuteLayer)

}  // namespace cortado
