// Embed: looks up one learned row of num_output values per integer index in
// [0, input_dim), a one-hot InnerProduct without the product.
#include <memory>
#include <vector>

#include "cortado/filler.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"

#ifdef CORTADO_WITH_CUDA
#include "../util/channel_bias.hpp"
#endif

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// embed_layer.cu
void EmbedForwardGpu(int64_t count, const float* index, const float* w, int outputs, float* y);
void EmbedBackwardGpu(int64_t count, const float* index, const float* dy, int outputs,
                      float* dw);
#endif

namespace {

class EmbedLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Embed"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }
  // Indices are integers: there is no gradient to force into them.
  bool AllowForceBackward(int bottom_index) const override { return false; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::EmbedParameter& p = layer_param_.embed_param();
    outputs_ = static_cast<int>(p.num_output());
    inputs_ = static_cast<int>(p.input_dim());
    bias_term_ = p.bias_term();
    if (outputs_ <= 0) ThrowError(ErrorPrefix(), "embed_param.num_output must be positive");
    if (inputs_ <= 0) ThrowError(ErrorPrefix(), "embed_param.input_dim must be positive");
    const std::vector<int> weight_shape = {inputs_, outputs_};
    if (!blobs_.empty()) {
      const size_t expected = bias_term_ ? 2 : 1;
      if (blobs_.size() != expected || blobs_[0]->shape() != weight_shape ||
          (bias_term_ && blobs_[1]->count() != outputs_)) {
        ThrowError(ErrorPrefix(), "expects ", expected, " parameter blob(s): weights (",
                   inputs_, ",", outputs_, ")", bias_term_ ? StrCat(" and bias (", outputs_, ")")
                                                      : std::string(),
                   "; got ", blobs_.size(), " blob(s), the first of shape ",
                   blobs_[0]->shape_string());
      }
      return;
    }
    blobs_.push_back(std::make_unique<Blob>(weight_shape));
    FillBlob(p.weight_filler(), blobs_[0].get());
    if (bias_term_) {
      blobs_.push_back(std::make_unique<Blob>(std::vector<int>{outputs_}));
      FillBlob(p.bias_filler(), blobs_[1].get());
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    std::vector<int> shape = bottom[0]->shape();
    shape.push_back(outputs_);
    top[0]->Reshape(shape);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* index = bottom[0]->cpu_data();
    const float* w = blobs_[0]->cpu_data();
    const float* bias = bias_term_ ? blobs_[1]->cpu_data() : nullptr;
    float* y = top[0]->mutable_cpu_data();
    const int64_t n = bottom[0]->count();
    for (int64_t i = 0; i < n; ++i) {
      float* row = y + i * outputs_;
      Copy(outputs_, w + Row(index, i) * outputs_, row);
      if (bias) Axpy(outputs_, 1.f, bias, row);
    }
  }

  // Parameter gradients accumulate, as for every layer.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to its integer index input");
    }
    const float* index = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    const int64_t n = bottom[0]->count();
    if (param_propagate_down(0)) {
      float* dw = blobs_[0]->mutable_cpu_diff();
      for (int64_t i = 0; i < n; ++i) {
        Axpy(outputs_, 1.f, dy + i * outputs_, dw + Row(index, i) * outputs_);
      }
    }
    if (bias_term_ && param_propagate_down(1)) {
      float* db = blobs_[1]->mutable_cpu_diff();
      for (int64_t i = 0; i < n; ++i) Axpy(outputs_, 1.f, dy + i * outputs_, db);
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    CheckIndices(bottom[0]);
    const int64_t n = bottom[0]->count();
    float* y = top[0]->mutable_gpu_data();
    EmbedForwardGpu(n, bottom[0]->gpu_data(), blobs_[0]->gpu_data(), outputs_, y);
    if (bias_term_) ChannelBiasForwardGpu(n, outputs_, 1, blobs_[1]->gpu_data(), y);
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (propagate_down[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate to its integer index input");
    }
    const int64_t n = bottom[0]->count();
    const float* dy = top[0]->gpu_diff();
    if (param_propagate_down(0)) {
      CheckIndices(bottom[0]);
      EmbedBackwardGpu(n, bottom[0]->gpu_data(), dy, outputs_, blobs_[0]->mutable_gpu_diff());
    }
    if (bias_term_ && param_propagate_down(1)) {
      ChannelBiasBackwardGpu(n, outputs_, 1, dy, blobs_[1]->mutable_gpu_diff());
    }
  }
#endif

 private:
  // The kernels trust their indices, so a bad one is reported here, from the
  // host copy of the (small) index blob, with the CPU path's message.
  void CheckIndices(const Blob* bottom) const {
    const float* index = bottom->cpu_data();
    for (int64_t i = 0; i < bottom->count(); ++i) Row(index, i);
  }

  int64_t Row(const float* index, int64_t i) const {
    const int row = static_cast<int>(index[i]);
    if (row < 0 || row >= inputs_) {
      ThrowError(ErrorPrefix(), "index ", index[i], " at position ", i, " is outside [0, ",
                 inputs_, "), embed_param.input_dim");
    }
    return row;
  }

  int outputs_ = 0;  // num_output
  int inputs_ = 0;   // input_dim
  bool bias_term_ = true;
};

}  // namespace

CORTADO_REGISTER_LAYER(Embed, EmbedLayer)

}  // namespace cortado
