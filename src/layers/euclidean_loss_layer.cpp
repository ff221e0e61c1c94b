// EuclideanLoss: sum((a - b)^2) / (2 N) over N items; both inputs get a
// gradient (regression targets may come from another branch).
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {
namespace {

class EuclideanLossLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "EuclideanLoss"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }

  // a - b lives from forward to backward, placed by the net's planner.
  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    DeclareInternalBlob(&difference_);
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& a = *bottom[0];
    const Blob& b = *bottom[1];
    if (a.num_axes() < 1 || b.num_axes() < 1 || a.shape(0) != b.shape(0) ||
        a.count() != b.count()) {
      ThrowError(ErrorPrefix(), "bottoms ", a.shape_string(), " and ", b.shape_string(),
                 " must have the same first dimension and the same count");
    }
    top[0]->Reshape(std::vector<int>{});
    difference_.ReshapeLike(a);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    Sub(n, bottom[0]->cpu_data(), bottom[1]->cpu_data(), difference_.mutable_cpu_data());
    const float dot = Dot(n, difference_.cpu_data(), difference_.cpu_data());
    top[0]->mutable_cpu_data()[0] = Loss(dot, bottom);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    const float scale = top[0]->cpu_diff()[0] / bottom[0]->shape(0);
    for (int i = 0; i < 2; ++i) {
      if (!propagate_down[i]) continue;
      Scale(bottom[i]->count(), i == 0 ? scale : -scale, difference_.cpu_data(),
            bottom[i]->mutable_cpu_diff());
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    gpu::Sub(n, bottom[0]->gpu_data(), bottom[1]->gpu_data(), difference_.mutable_gpu_data());
    const float dot = gpu::Dot(n, difference_.gpu_data(), difference_.gpu_data());
    top[0]->mutable_cpu_data()[0] = Loss(dot, bottom);
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    const float scale = top[0]->cpu_diff()[0] / bottom[0]->shape(0);
    for (int i = 0; i < 2; ++i) {
      if (!propagate_down[i]) continue;
      gpu::Scale(bottom[i]->count(), i == 0 ? scale : -scale, difference_.gpu_data(),
                 bottom[i]->mutable_gpu_diff());
    }
  }
#endif

 private:
  // From the squared norm of a - b.
  static float Loss(float dot, const BlobVec& bottom) { return dot / bottom[0]->shape(0) / 2.f; }

  Blob difference_;  // a - b
};

}  // namespace

CORTADO_REGISTER_LAYER(EuclideanLoss, EuclideanLossLayer)

}  // namespace cortado
