// Split: hands one bottom to several consumers. The tops share the bottom's
// data; the bottom's gradient is the sum of the tops' gradients.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"

namespace cortado {
namespace {

class SplitLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Split"; }
  // Backward moves diffs only.
  bool BackwardReadsBottomData(int) const override { return false; }
  bool BackwardReadsTopData(int) const override { return false; }
  int ExactNumBottomBlobs() const override { return 1; }
  int MinTopBlobs() const override { return 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    for (size_t i = 0; i < top.size(); ++i) {
      // In place, a top's diff would overwrite the bottom's sum.
      if (top[i] == bottom[0]) {
        ThrowError(ErrorPrefix(), "cannot run in place (top ", i,
                   " is the bottom); give each top its own name");
      }
      top[i]->ReshapeLike(*bottom[0]);
      top[i]->ShareData(*bottom[0]);
    }
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {}

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    float* dx = bottom[0]->mutable_cpu_diff();
    if (top.size() == 1) {
      Copy(n, top[0]->cpu_diff(), dx);
      return;
    }
    Add(n, top[0]->cpu_diff(), top[1]->cpu_diff(), dx);
    for (size_t i = 2; i < top.size(); ++i) Axpy(n, 1.f, top[i]->cpu_diff(), dx);
  }

#ifdef CORTADO_WITH_CUDA
  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t n = bottom[0]->count();
    float* dx = bottom[0]->mutable_gpu_diff();
    if (top.size() == 1) {
      gpu::Copy(n, top[0]->gpu_diff(), dx);
      return;
    }
    gpu::Add(n, top[0]->gpu_diff(), top[1]->gpu_diff(), dx);
    for (size_t i = 2; i < top.size(); ++i) gpu::Axpy(n, 1.f, top[i]->gpu_diff(), dx);
  }
#endif
};

}  // namespace

CORTADO_REGISTER_LAYER(Split, SplitLayer)

}  // namespace cortado
