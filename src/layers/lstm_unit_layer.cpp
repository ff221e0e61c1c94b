// LSTMUnit: one LSTM step. Bottoms c_prev (1 x N x H), gate pre-activations
// x (1 x N x 4H, order i, f, o, g) and cont (1 x N); tops c and h (1 x N x H).
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "lstm_cell.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// lstm_unit_layer.cu. Shapes as in LstmCellForward/LstmCellBackward
// (lstm_cell.hpp); dc is never null here, dc_prev may be.
void LstmUnitForwardGpu(int n, int h, const float* c_prev, const float* pre, const float* cont,
                        float* acts, float* c, float* hidden);
void LstmUnitBackwardGpu(int n, int h, const float* c_prev, const float* acts, const float* c,
                         const float* cont, const float* dh, const float* dc, float* dpre,
                         float* dc_prev);
#endif

namespace {

class LstmUnitLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "LSTMUnit"; }
  int ExactNumBottomBlobs() const override { return 3; }
  int ExactNumTopBlobs() const override { return 2; }
  // cont is a sequence flag, not a value to differentiate.
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 2; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& c_prev = *bottom[0];
    if (c_prev.num_axes() != 3 || c_prev.shape(0) != 1) {
      ThrowError(ErrorPrefix(), "c_prev must be 1 x N x H, got ", c_prev.shape_string());
    }
    instances_ = c_prev.shape(1);
    hidden_ = c_prev.shape(2);
    if (bottom[1]->shape() != std::vector<int>{1, instances_, 4 * hidden_}) {
      ThrowError(ErrorPrefix(), "gate input must be (1,", instances_, ",", 4 * hidden_,
                 ") for c_prev ", c_prev.shape_string(), ", got ", bottom[1]->shape_string());
    }
    if (bottom[2]->shape() != std::vector<int>{1, instances_}) {
      ThrowError(ErrorPrefix(), "cont must be (1,", instances_, "), got ",
                 bottom[2]->shape_string());
    }
    top[0]->ReshapeLike(c_prev);
    top[1]->ReshapeLike(c_prev);
    acts_.ReshapeLike(*bottom[1]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    LstmCellForward(instances_, hidden_, bottom[0]->cpu_data(), bottom[1]->cpu_data(),
                    bottom[2]->cpu_data(), acts_.mutable_cpu_data(), top[0]->mutable_cpu_data(),
                    top[1]->mutable_cpu_data());
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    // The cell writes both gradients at once; an unwanted one goes to scratch.
    std::vector<float> scratch;
    float* dx = bottom[1]->mutable_cpu_diff();
    if (!propagate_down[1]) {
      scratch.resize(bottom[1]->count());
      dx = scratch.data();
    }
    LstmCellBackward(instances_, hidden_, bottom[0]->cpu_data(), acts_.cpu_data(),
                     top[0]->cpu_data(), bottom[2]->cpu_data(), top[1]->cpu_diff(),
                     top[0]->cpu_diff(), dx,
                     propagate_down[0] ? bottom[0]->mutable_cpu_diff() : nullptr);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    LstmUnitForwardGpu(instances_, hidden_, bottom[0]->gpu_data(), bottom[1]->gpu_data(),
                       bottom[2]->gpu_data(), acts_.mutable_gpu_data(),
                       top[0]->mutable_gpu_data(), top[1]->mutable_gpu_data());
  }

  // An unwanted gate gradient goes to acts_'s diff (scratch of its size); an
  // unwanted c_prev gradient is not written.
  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!CheckPropagateDown(propagate_down)) return;
    float* dpre = propagate_down[1] ? bottom[1]->mutable_gpu_diff() : acts_.mutable_gpu_diff();
    float* dc_prev = propagate_down[0] ? bottom[0]->mutable_gpu_diff() : nullptr;
    LstmUnitBackwardGpu(instances_, hidden_, bottom[0]->gpu_data(), acts_.gpu_data(),
                        top[0]->gpu_data(), bottom[2]->gpu_data(), top[1]->gpu_diff(),
                        top[0]->gpu_diff(), dpre, dc_prev);
  }
#endif

 private:
  // Whether any gradient is wanted; cont cannot have one.
  bool CheckPropagateDown(const std::vector<bool>& propagate_down) const {
    if (propagate_down[2]) ThrowError(ErrorPrefix(), "cannot back-propagate to cont");
    return propagate_down[0] || propagate_down[1];
  }

  int instances_ = 0;
  int hidden_ = 0;
  Blob acts_;  // activated gates of the last Forward (1 x N x 4H); GPU scratch in its diff
};

}  // namespace

CORTADO_REGISTER_LAYER(LSTMUnit, LstmUnitLayer)

}  // namespace cortado
