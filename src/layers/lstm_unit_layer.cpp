// LSTMUnit: one LSTM step. Bottoms c_prev (1 x N x H), gate pre-activations
// x (1 x N x 4H, order i, f, o, g) and cont (1 x N); tops c and h (1 x N x H).
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "lstm_cell.hpp"

namespace cortado {
namespace {

class LstmUnitLayer : public Layer {
 public:
  using Layer::Layer;

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
    acts_.resize(static_cast<size_t>(instances_) * 4 * hidden_);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    LstmCellForward(instances_, hidden_, bottom[0]->cpu_data(), bottom[1]->cpu_data(),
                    bottom[2]->cpu_data(), acts_.data(), top[0]->mutable_cpu_data(),
                    top[1]->mutable_cpu_data());
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[2]) ThrowError(ErrorPrefix(), "cannot back-propagate to cont");
    if (!propagate_down[0] && !propagate_down[1]) return;
    // The cell writes both gradients at once; an unwanted one goes to scratch.
    std::vector<float> scratch;
    float* dx = bottom[1]->mutable_cpu_diff();
    if (!propagate_down[1]) {
      scratch.resize(bottom[1]->count());
      dx = scratch.data();
    }
    LstmCellBackward(instances_, hidden_, bottom[0]->cpu_data(), acts_.data(),
                     top[0]->cpu_data(), bottom[2]->cpu_data(), top[1]->cpu_diff(),
                     top[0]->cpu_diff(), dx,
                     propagate_down[0] ? bottom[0]->mutable_cpu_diff() : nullptr);
  }

 private:
  int instances_ = 0;
  int hidden_ = 0;
  std::vector<float> acts_;  // activated gates of the last Forward
};

}  // namespace

CORTADO_REGISTER_LAYER(LSTMUnit, LstmUnitLayer)

}  // namespace cortado
