// BatchReindex: top item i is bottom item permutation[i]; items may repeat
// or be left out.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"

namespace cortado {
namespace {

class BatchReindexLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "BatchReindex"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (bottom[1]->num_axes() != 1) {
      ThrowError(ErrorPrefix(), "the index bottom must be 1-d, got shape ",
                 bottom[1]->shape_string());
    }
    if (bottom[0]->num_axes() < 1) {
      ThrowError(ErrorPrefix(), "bottom 0 needs at least one axis");
    }
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    std::vector<int> shape = bottom[0]->shape();
    shape[0] = bottom[1]->shape(0);
    top[0]->Reshape(shape);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t item = bottom[0]->count(1);
    const float* x = bottom[0]->cpu_data();
    const float* index = bottom[1]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    for (int i = 0; i < bottom[1]->shape(0); ++i) {
      Copy(item, x + Source(index, i, *bottom[0]) * item, y + i * item);
    }
  }

  // Items taken several times sum their gradients; unused items get zero.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[1]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the index bottom (bottom 1)");
    }
    if (!propagate_down[0]) return;
    const int64_t item = bottom[0]->count(1);
    const float* index = bottom[1]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    Set(bottom[0]->count(), 0.f, dx);
    for (int i = 0; i < bottom[1]->shape(0); ++i) {
      Axpy(item, 1.f, dy + i * item, dx + Source(index, i, *bottom[0]) * item);
    }
  }

#ifdef CORTADO_WITH_CUDA
  // The (small) index bottom is read and checked on the host; the items
  // move on the device, one copy (or sum) each, in the CPU's order.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t item = bottom[0]->count(1);
    const float* index = bottom[1]->cpu_data();
    const float* x = bottom[0]->gpu_data();
    float* y = top[0]->mutable_gpu_data();
    for (int i = 0; i < bottom[1]->shape(0); ++i) {
      gpu::Copy(item, x + Source(index, i, *bottom[0]) * item, y + i * item);
    }
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (propagate_down[1]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the index bottom (bottom 1)");
    }
    if (!propagate_down[0]) return;
    const int64_t item = bottom[0]->count(1);
    const float* index = bottom[1]->cpu_data();
    const float* dy = top[0]->gpu_diff();
    float* dx = bottom[0]->mutable_gpu_diff();
    gpu::Set(bottom[0]->count(), 0.f, dx);
    for (int i = 0; i < bottom[1]->shape(0); ++i) {
      gpu::Axpy(item, 1.f, dy + i * item, dx + Source(index, i, *bottom[0]) * item);
    }
  }
#endif

 private:
  int64_t Source(const float* index, int i, const Blob& data) const {
    const int source = static_cast<int>(index[i]);
    if (source < 0 || source >= data.shape(0)) {
      ThrowError(ErrorPrefix(), "index ", index[i], " at position ", i,
                 " is outside [0, ", data.shape(0), "), the items of bottom 0");
    }
    return source;
  }
};

}  // namespace

CORTADO_REGISTER_LAYER(BatchReindex, BatchReindexLayer)

}  // namespace cortado
