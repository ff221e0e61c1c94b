// Filter: keeps the items (axis 0) of each bottom whose entry in the last
// bottom, the selector, is non-zero. Tops are the filtered bottoms.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"

namespace cortado {
namespace {

class FilterLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Filter"; }
  int MinBottomBlobs() const override { return 2; }
  int MinTopBlobs() const override { return 1; }
  // The selector decides which items pass; it has no gradient.
  bool AllowForceBackward(int bottom_index) const override {
    return bottom_index != layer_param_.bottom_size() - 1;
  }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    if (top.size() != bottom.size() - 1) {
      ThrowError(ErrorPrefix(), "needs one top per filtered bottom: ", bottom.size() - 1,
                 " filtered bottom(s) (the last bottom is the selector) but ", top.size(),
                 " top(s)");
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& selector = *bottom.back();
    if (selector.num_axes() < 1) {
      ThrowError(ErrorPrefix(), "the selector (last bottom) needs at least one axis");
    }
    for (int a = 1; a < selector.num_axes(); ++a) {
      if (selector.shape(a) != 1) {
        ThrowError(ErrorPrefix(), "the selector (last bottom) has shape ",
                   selector.shape_string(), "; all axes but the first must be 1");
      }
    }
    for (size_t b = 0; b + 1 < bottom.size(); ++b) {
      if (bottom[b]->num_axes() < 1 || bottom[b]->shape(0) != selector.shape(0)) {
        ThrowError(ErrorPrefix(), "bottom ", b, " of shape ", bottom[b]->shape_string(),
                   " must have as many items (axis 0) as the selector, ", selector.shape(0));
      }
      if (top[b] == bottom[b]) {
        ThrowError(ErrorPrefix(), "cannot run in place; give top ", b, " its own name");
      }
    }
    // At set-up the selector holds no data yet: plan for the whole batch.
    selected_.clear();
    const float* s = selector.cpu_data();
    for (int n = 0; n < selector.shape(0); ++n) {
      if (!first_reshape_done_ || static_cast<int>(s[n]) != 0) selected_.push_back(n);
    }
    first_reshape_done_ = true;
    for (size_t b = 0; b + 1 < bottom.size(); ++b) {
      std::vector<int> shape = bottom[b]->shape();
      shape[0] = static_cast<int>(selected_.size());
      top[b]->Reshape(shape);
    }
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    for (size_t b = 0; b + 1 < bottom.size(); ++b) {
      const int64_t item = bottom[b]->count(1);
      const float* x = bottom[b]->cpu_data();
      float* y = top[b]->mutable_cpu_data();
      for (size_t k = 0; k < selected_.size(); ++k) {
        Copy(item, x + selected_[k] * item, y + k * item);
      }
    }
  }

  // Items that were filtered out get a zero gradient.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down.back()) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the selector (last bottom)");
    }
    for (size_t b = 0; b + 1 < bottom.size(); ++b) {
      if (!propagate_down[b]) continue;
      const int64_t item = bottom[b]->count(1);
      const float* dy = top[b]->cpu_diff();
      float* dx = bottom[b]->mutable_cpu_diff();
      Set(bottom[b]->count(), 0.f, dx);
      for (size_t k = 0; k < selected_.size(); ++k) {
        Copy(item, dy + k * item, dx + selected_[k] * item);
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  // Reshape read the (small) selector on the host; the items move on the
  // device, one copy each.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    for (size_t b = 0; b + 1 < bottom.size(); ++b) {
      const int64_t item = bottom[b]->count(1);
      const float* x = bottom[b]->gpu_data();
      float* y = top[b]->mutable_gpu_data();
      for (size_t k = 0; k < selected_.size(); ++k) {
        gpu::Copy(item, x + selected_[k] * item, y + k * item);
      }
    }
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (propagate_down.back()) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to the selector (last bottom)");
    }
    for (size_t b = 0; b + 1 < bottom.size(); ++b) {
      if (!propagate_down[b]) continue;
      const int64_t item = bottom[b]->count(1);
      const float* dy = top[b]->gpu_diff();
      float* dx = bottom[b]->mutable_gpu_diff();
      gpu::Set(bottom[b]->count(), 0.f, dx);
      for (size_t k = 0; k < selected_.size(); ++k) {
        gpu::Copy(item, dy + k * item, dx + selected_[k] * item);
      }
    }
  }
#endif

 private:
  std::vector<int64_t> selected_;  // items passed on, in order
  bool first_reshape_done_ = false;
};

}  // namespace

CORTADO_REGISTER_LAYER(Filter, FilterLayer)

}  // namespace cortado
