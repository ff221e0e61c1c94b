// NeuronLayer<Spec>: the one layer body of the element-wise, one-bottom
// one-top layers (ReLU, Sigmoid, TanH, AbsVal, BNLL, ELU, Exp, Log, Clip,
// Threshold). Each layer file gives only a Spec: its type name, how its
// parameters become a formula (neuron_formulas.hpp), and when it cannot run
// in place. Forward and backward run on the CPU's threads or as a CUDA kernel
// through ElementwiseMap; there is no per-device copy of the orchestration.
//
// A Spec has:
//   using Formula = ...;
//   static constexpr const char* kType;
//   static constexpr bool kHasBackward;    // false: a gradient request is an error
//   static constexpr bool kRefusesInPlace; // true: even forward must not run in place
//   static Formula Configure(const caffe::LayerParameter&, const std::string& error_prefix);
//   // Why backward cannot run in place with this formula ("" when it can).
//   static std::string InPlaceBackwardProblem(const Formula&);
#ifndef CORTADO_LAYERS_NEURON_LAYER_HPP_
#define CORTADO_LAYERS_NEURON_LAYER_HPP_

#include <string>
#include <vector>

#include "../util/elementwise_map.hpp"
#include "cortado/layer.hpp"
#include "neuron_formulas.hpp"

namespace cortado {

template <typename Spec>
class NeuronLayer : public Layer {
 public:
  using Formula = typename Spec::Formula;
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return Spec::kType; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }
  // One formula per element: no state, no random draw.
  bool CheapToRecompute() const override { return true; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    formula_ = Spec::Configure(layer_param_, ErrorPrefix());
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (Spec::kRefusesInPlace && top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  // ForwardGpu and BackwardGpu keep Layer's defaults, which call these.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const bool gpu = runs_on_cuda();
    const NeuronForwardOp<Formula> op{Data(*bottom[0], gpu), MutableData(top[0], gpu), formula_};
    ElementwiseMap(gpu, bottom[0]->count(), op);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    if (!Spec::kHasBackward) {
      ThrowError(ErrorPrefix(), "has no backward pass; set propagate_down: false on it or "
                 "keep it out of the gradient path");
    }
    if (top[0] == bottom[0]) {
      const std::string problem = Spec::InPlaceBackwardProblem(formula_);
      if (!problem.empty()) ThrowError(ErrorPrefix(), problem);
    }
    const bool gpu = runs_on_cuda();
    const NeuronBackwardOp<Formula> op{Diff(*top[0], gpu), Data(*bottom[0], gpu),
                                       Data(*top[0], gpu), MutableDiff(bottom[0], gpu),
                                       formula_};
    ElementwiseMap(gpu, bottom[0]->count(), op);
  }

 private:
  static const float* Data(const Blob& blob, bool gpu) {
    return gpu ? blob.gpu_data() : blob.cpu_data();
  }
  static const float* Diff(const Blob& blob, bool gpu) {
    return gpu ? blob.gpu_diff() : blob.cpu_diff();
  }
  static float* MutableData(Blob* blob, bool gpu) {
    return gpu ? blob->mutable_gpu_data() : blob->mutable_cpu_data();
  }
  static float* MutableDiff(Blob* blob, bool gpu) {
    return gpu ? blob->mutable_gpu_diff() : blob->mutable_cpu_diff();
  }

  Formula formula_{};
};

// The message of Specs whose gradient reads x, which an in-place forward
// has overwritten.
inline std::string NeuronReadsBottom() {
  return "cannot back-propagate in place; give the layer its own top";
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_NEURON_LAYER_HPP_
