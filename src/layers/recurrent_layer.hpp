// The shape and state bookkeeping RNN and LSTM share (BVLC Caffe's
// RecurrentLayer contract). Bottoms: x (T x N x ...), cont (T x N), optional
// x_static (N x ...), and with expose_hidden one 1 x N x H initial state per
// recurrent state (RNN: h0; LSTM: h0, c0). Tops: the output (T x N x H) and,
// with expose_hidden, the final states. Without expose_hidden the final
// states of one Forward are the initial states of the next, so a sequence can
// run across batches; cont = 0 at its first step cuts the carry.
#ifndef CORTADO_LAYERS_RECURRENT_LAYER_HPP_
#define CORTADO_LAYERS_RECURRENT_LAYER_HPP_

#include <algorithm>
#include <memory>
#include <vector>

#include "cortado/filler.hpp"
#include "cortado/layer.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"

namespace cortado {

class RecurrentLayer : public Layer {
 public:
  RecurrentLayer(const caffe::LayerParameter& param, int num_states)
      : Layer(param), num_states_(num_states) {}

  int MinBottomBlobs() const override { return 2; }
  int MinTopBlobs() const override { return 1; }
  // cont is a sequence flag, not a value to differentiate.
  bool AllowForceBackward(int bottom_index) const override { return bottom_index != 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::RecurrentParameter& p = layer_param_.recurrent_param();
    hidden_ = static_cast<int>(p.num_output());
    if (hidden_ <= 0) ThrowError(ErrorPrefix(), "recurrent_param.num_output must be positive");
    expose_hidden_ = p.expose_hidden();
    const int state_bottoms = expose_hidden_ ? num_states_ : 0;
    if (bottom.size() != size_t(2 + state_bottoms) && bottom.size() != size_t(3 + state_bottoms)) {
      ThrowError(ErrorPrefix(), "takes x, cont, optional x_static",
                 expose_hidden_ ? " and the initial states" : "", ": expected ",
                 2 + state_bottoms, " or ", 3 + state_bottoms, " bottoms, got ", bottom.size());
    }
    has_static_ = bottom.size() == size_t(3 + state_bottoms);
    if (top.size() != size_t(1 + state_bottoms)) {
      ThrowError(ErrorPrefix(), "expected ", 1 + state_bottoms, " tops, got ", top.size());
    }
    if (bottom[0]->num_axes() < 3) {
      ThrowError(ErrorPrefix(), "x must be T x N x ..., got ", bottom[0]->shape_string());
    }
    inputs_ = static_cast<int>(bottom[0]->count(2));
    static_inputs_ = has_static_ ? static_cast<int>(bottom[2]->count(1)) : 0;
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& x = *bottom[0];
    if (x.num_axes() < 3 || x.count(2) != inputs_) {
      ThrowError(ErrorPrefix(), "x must be T x N x (", inputs_, " values), got ",
                 x.shape_string());
    }
    steps_ = x.shape(0);
    const int n = x.shape(1);
    if (bottom[1]->shape() != std::vector<int>{steps_, n}) {
      ThrowError(ErrorPrefix(), "cont must be (", steps_, ",", n, "), got ",
                 bottom[1]->shape_string());
    }
    if (has_static_ && (bottom[2]->num_axes() < 1 || bottom[2]->shape(0) != n ||
                        bottom[2]->count(1) != static_inputs_)) {
      ThrowError(ErrorPrefix(), "x_static must be N x (", static_inputs_, " values) with N = ",
                 n, ", got ", bottom[2]->shape_string());
    }
    const std::vector<int> state_shape = {1, n, hidden_};
    if (expose_hidden_) {
      for (int s = 0; s < num_states_; ++s) {
        if (bottom[StateBottom(s)]->shape() != state_shape) {
          ThrowError(ErrorPrefix(), "initial state bottom ", StateBottom(s), " must be (1,", n,
                     ",", hidden_, "), got ", bottom[StateBottom(s)]->shape_string());
        }
        top[1 + s]->Reshape(state_shape);
      }
    }
    if (n != instances_) {
      instances_ = n;
      carried_.clear();
      for (int s = 0; s < num_states_; ++s) {
        carried_.push_back(std::make_unique<Blob>(state_shape));
        Set(carried_.back()->count(), 0.f, carried_.back()->mutable_cpu_data());
      }
    }
    top[0]->Reshape({steps_, n, hidden_});
  }

 protected:
  int StateBottom(int s) const { return 2 + (has_static_ ? 1 : 0) + s; }

  // The initial value of state s: a bottom with expose_hidden, else the carry.
  const float* InitialState(const BlobVec& bottom, int s) const {
    return expose_hidden_ ? bottom[StateBottom(s)]->cpu_data() : carried_[s]->cpu_data();
  }
  // Publishes the final value of state s (a top, or the carry).
  void FinalState(const BlobVec& top, int s, const float* value) {
    const size_t count = static_cast<size_t>(instances_) * hidden_;
    float* out =
        expose_hidden_ ? top[1 + s]->mutable_cpu_data() : carried_[s]->mutable_cpu_data();
    std::copy(value, value + count, out);
  }

#ifdef CORTADO_WITH_CUDA
  // The same two on the device; the carry is a Blob, so it follows the
  // layer from one device to the other.
  const float* InitialStateGpu(const BlobVec& bottom, int s) const {
    return expose_hidden_ ? bottom[StateBottom(s)]->gpu_data() : carried_[s]->gpu_data();
  }
  void FinalStateGpu(const BlobVec& top, int s, const float* value) {
    float* out =
        expose_hidden_ ? top[1 + s]->mutable_gpu_data() : carried_[s]->mutable_gpu_data();
    gpu::Copy(int64_t(instances_) * hidden_, value, out);
  }
#endif

  // Adds a parameter blob of the given shape filled by filler, or checks the
  // shape of one loaded from a model.
  void AddParameter(size_t index, const std::vector<int>& shape,
                    const caffe::FillerParameter& filler) {
    if (index < blobs_.size()) {
      if (blobs_[index]->shape() != shape) {
        ThrowError(ErrorPrefix(), "parameter ", index, " has shape ",
                   blobs_[index]->shape_string(), " but the layer needs ",
                   Blob(shape).shape_string());
      }
      return;
    }
    blobs_.push_back(std::make_unique<Blob>(shape));
    FillBlob(filler, blobs_.back().get());
  }

  const int num_states_;
  int hidden_ = 0;          // H = num_output
  int inputs_ = 0;          // I: values per x record
  int static_inputs_ = 0;   // values per x_static record
  int steps_ = 0;           // T
  int instances_ = 0;       // N
  bool has_static_ = false;
  bool expose_hidden_ = false;
  std::vector<std::unique_ptr<Blob>> carried_;  // 1 x N x H final states of the last Forward
};

}  // namespace cortado

#endif  // CORTADO_LAYERS_RECURRENT_LAYER_HPP_
