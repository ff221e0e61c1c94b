// Silence: consumes blobs nobody else reads so the net does not report them
// as outputs; it has no tops and passes zero gradients back.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"

namespace cortado {
namespace {

class SilenceLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Silence"; }
  int MinBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 0; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {}

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {}

  // Diffs are overwritten by contract, so zeros must be written explicitly.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    for (size_t i = 0; i < bottom.size(); ++i) {
      if (propagate_down[i]) Set(bottom[i]->count(), 0.f, bottom[i]->mutable_cpu_diff());
    }
  }

#ifdef CORTADO_WITH_CUDA
  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    for (size_t i = 0; i < bottom.size(); ++i) {
      if (propagate_down[i]) gpu::Set(bottom[i]->count(), 0.f, bottom[i]->mutable_gpu_diff());
    }
  }
#endif
};

}  // namespace

CORTADO_REGISTER_LAYER(Silence, SilenceLayer)

}  // namespace cortado
