// Permute (SSD): reorders a blob's axes. permute_param.order lists the new
// axis order; axes it leaves out follow in their original order.
#include <memory>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/synced_memory.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// permute_layer.cu: y[j] = x[source[j]] (forward), dx[source[j]] = dy[j]
// (backward); source is a device table of count offsets.
void PermuteForwardGpu(int64_t count, const int64_t* source, const float* x, float* y);
void PermuteBackwardGpu(int64_t count, const int64_t* source, const float* dy, float* dx);
#endif

namespace {

class PermuteLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

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
    // Reshape runs before every Forward; the table depends only on the shape.
    if (source_ && in.shape() == source_shape_) return;
    source_shape_ = in.shape();
    // source[j]: the bottom offset of top element j.
    source_ = std::make_unique<SyncedMemory>(in.count() * sizeof(int64_t));
    int64_t* source = static_cast<int64_t*>(source_->mutable_cpu_data());
    std::vector<int64_t> in_stride(axes, 1);
    for (int a = axes - 2; a >= 0; --a) in_stride[a] = in_stride[a + 1] * in.shape(a + 1);
    std::vector<int> index(axes, 0);
    for (int64_t j = 0; j < in.count(); ++j) {
      int64_t offset = 0;
      for (int i = 0; i < axes; ++i) offset += index[i] * in_stride[order_[i]];
      source[j] = offset;
      for (int i = axes - 1; i >= 0; --i) {  // odometer over the top's shape
        if (++index[i] < shape[i]) break;
        index[i] = 0;
      }
    }
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t* source = static_cast<const int64_t*>(source_->cpu_data());
    const int64_t count = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    for (int64_t j = 0; j < count; ++j) y[j] = x[source[j]];
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t* source = static_cast<const int64_t*>(source_->cpu_data());
    const int64_t count = bottom[0]->count();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    for (int64_t j = 0; j < count; ++j) dx[source[j]] = dy[j];
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    PermuteForwardGpu(bottom[0]->count(), static_cast<const int64_t*>(source_->gpu_data()),
                      bottom[0]->gpu_data(), top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    PermuteBackwardGpu(bottom[0]->count(), static_cast<const int64_t*>(source_->gpu_data()),
                       top[0]->gpu_diff(), bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  std::vector<int> order_;
  // The offset table, on whichever device reads it, and the shape it is for.
  std::unique_ptr<SyncedMemory> source_;
  std::vector<int> source_shape_;
};

}  // namespace

CORTADO_REGISTER_LAYER(Permute, PermuteLayer)

}  // namespace cortado
