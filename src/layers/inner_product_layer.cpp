// InnerProduct: a fully connected layer, one matrix product for the batch.
#include <vector>

#include "cortado/filler.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"

#ifdef CORTADO_WITH_CUDA
#include "../util/channel_bias.hpp"
#include "cortado/math_gpu.hpp"
#include "epilogue_gpu.hpp"
#endif

namespace cortado {

class InnerProductLayer : public Layer {
 public:
  explicit InnerProductLayer(const caffe::LayerParameter& param) : Layer(param) {}
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;
  const char* type() const override { return "InnerProduct"; }
  // Backward reads the input (weight gradient), never the output.
  bool BackwardReadsTopData(int) const override { return false; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AcceptsEpilogue() const override { return true; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  void Reshape(const BlobVec& bottom, const BlobVec& top) override;

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override;
#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override;
#endif

 private:
  int axis_ = 1;
  int rows_ = 0;     // M: product of the axes before axis_
  int inputs_ = 0;   // K: product of the axes from axis_ on
  int outputs_ = 0;  // N: num_output
  bool bias_term_ = true;
  // Weights are [K, N] when transposed, else [N, K].
  bool transpose_ = false;
  std::vector<float> ones_;  // M ones, to sum the bias gradient with Gemv

  // The weights and bias Forward uses: the epilogue's folded ones if any.
  const Blob* ForwardWeights() const {
    return epilogue_ && epilogue_->weights ? epilogue_->weights : blobs_[0].get();
  }
  const Blob* ForwardBias() const {
    if (epilogue_ && epilogue_->weights) return epilogue_->bias;
    return bias_term_ ? blobs_[1].get() : nullptr;
  }
};

void InnerProductLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::InnerProductParameter& p = layer_param_.inner_product_param();
  outputs_ = static_cast<int>(p.num_output());
  if (outputs_ <= 0) ThrowError(ErrorPrefix(), "num_output must be positive");
  bias_term_ = p.bias_term();
  transpose_ = p.transpose();
  axis_ = bottom[0]->CanonicalAxisIndex(p.axis());
  inputs_ = static_cast<int>(bottom[0]->count(axis_));
  const std::vector<int> weight_shape =
      transpose_ ? std::vector<int>{inputs_, outputs_} : std::vector<int>{outputs_, inputs_};
  if (!blobs_.empty()) {
    const size_t expected = bias_term_ ? 2 : 1;
    if (blobs_.size() != expected) {
      ThrowError(ErrorPrefix(), "expects ", expected, " parameter blob(s), got ",
                 blobs_.size());
    }
    if (blobs_[0]->shape() != weight_shape) {
      ThrowError(ErrorPrefix(), "weights have shape ", blobs_[0]->shape_string(),
                 " but the layer needs (", weight_shape[0], ",", weight_shape[1], ")",
                 " for bottom ", bottom[0]->shape_string());
    }
    if (bias_term_ && blobs_[1]->count() != outputs_) {
      ThrowError(ErrorPrefix(), "bias has shape ", blobs_[1]->shape_string(),
                 " but needs (", outputs_, ")");
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

void InnerProductLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  const Blob& in = *bottom[0];
  if (axis_ >= in.num_axes() || in.count(axis_) != inputs_) {
    ThrowError(ErrorPrefix(), "bottom ", in.shape_string(), " flattens to ",
               axis_ < in.num_axes() ? in.count(axis_) : 0, " inputs from axis ", axis_,
               " but the weights expect ", inputs_);
  }
  rows_ = static_cast<int>(in.count(0, axis_));
  std::vector<int> shape(in.shape().begin(), in.shape().begin() + axis_);
  shape.push_back(outputs_);
  top[0]->Reshape(shape);
  if (bias_term_ && static_cast<int>(ones_.size()) != rows_) ones_.assign(rows_, 1.f);
}

void InnerProductLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const float* x = bottom[0]->cpu_data();
  const float* w = ForwardWeights()->cpu_data();
  float* y = top[0]->mutable_cpu_data();
  Gemm(Trans::kNo, transpose_ ? Trans::kNo : Trans::kYes, rows_, outputs_, inputs_, 1.f, x,
       w, 0.f, y);
  const Blob* bias_blob = ForwardBias();
  const Epilogue* post = epilogue_ && (epilogue_->addend || epilogue_->relu) ? epilogue_ : nullptr;
  if (!post) {
    if (bias_blob) {
      const float* bias = bias_blob->cpu_data();
      for (int r = 0; r < rows_; ++r) Axpy(outputs_, 1.f, bias, y + int64_t(r) * outputs_);
    }
    return;
  }
  const float* bias = bias_blob ? bias_blob->cpu_data() : nullptr;
  const float* add = post->addend ? post->addend->cpu_data() : nullptr;
  for (int64_t r = 0; r < rows_; ++r) {
    float* row = y + r * outputs_;
    const float* a = add ? add + r * outputs_ : nullptr;
    if (bias) Axpy(outputs_, 1.f, bias, row);
    post->ApplyRow(row, 0.f, a, outputs_, row);
  }
}

void InnerProductLayer::BackwardImpl(const BlobVec& top,
                                     const std::vector<bool>& propagate_down,
                                     const BlobVec& bottom) {
  const float* dy = top[0]->cpu_diff();
  const float* x = bottom[0]->cpu_data();
  if (param_propagate_down(0)) {
    float* dw = blobs_[0]->mutable_cpu_diff();
    if (transpose_) {
      Gemm(Trans::kYes, Trans::kNo, inputs_, outputs_, rows_, 1.f, x, dy, 1.f, dw);
    } else {
      Gemm(Trans::kYes, Trans::kNo, outputs_, inputs_, rows_, 1.f, dy, x, 1.f, dw);
    }
  }
  if (bias_term_ && param_propagate_down(1)) {
    Gemv(Trans::kYes, rows_, outputs_, 1.f, dy, ones_.data(), 1.f,
         blobs_[1]->mutable_cpu_diff());
  }
  if (propagate_down[0]) {
    Gemm(Trans::kNo, transpose_ ? Trans::kYes : Trans::kNo, rows_, inputs_, outputs_, 1.f,
         dy, blobs_[0]->cpu_data(), 0.f, bottom[0]->mutable_cpu_diff());
  }
}

#ifdef CORTADO_WITH_CUDA
// The same products as the CPU path, through cuBLAS; the bias is a
// per-output "channel" of a rows x outputs array.
void InnerProductLayer::ForwardGpu(const BlobVec& bottom, const BlobVec& top) {
  float* y = top[0]->mutable_gpu_data();
  gpu::Gemm(Trans::kNo, transpose_ ? Trans::kNo : Trans::kYes, rows_, outputs_, inputs_, 1.f,
            bottom[0]->gpu_data(), ForwardWeights()->gpu_data(), 0.f, y);
  if (const Blob* bias = ForwardBias()) {
    ChannelBiasForwardGpu(rows_, outputs_, 1, bias->gpu_data(), y);
  }
  if (epilogue_ && (epilogue_->addend || epilogue_->relu)) {
    ApplyEpilogueGpu(*epilogue_, top[0]->count(), y);
  }
}

void InnerProductLayer::BackwardGpu(const BlobVec& top,
                                    const std::vector<bool>& propagate_down,
                                    const BlobVec& bottom) {
  const float* dy = top[0]->gpu_diff();
  if (param_propagate_down(0)) {
    const float* x = bottom[0]->gpu_data();
    float* dw = blobs_[0]->mutable_gpu_diff();
    if (transpose_) {
      gpu::Gemm(Trans::kYes, Trans::kNo, inputs_, outputs_, rows_, 1.f, x, dy, 1.f, dw);
    } else {
      gpu::Gemm(Trans::kYes, Trans::kNo, outputs_, inputs_, rows_, 1.f, dy, x, 1.f, dw);
    }
  }
  if (bias_term_ && param_propagate_down(1)) {
    ChannelBiasBackwardGpu(rows_, outputs_, 1, dy, blobs_[1]->mutable_gpu_diff());
  }
  if (propagate_down[0]) {
    gpu::Gemm(Trans::kNo, transpose_ ? Trans::kYes : Trans::kNo, rows_, inputs_, outputs_, 1.f,
              dy, blobs_[0]->gpu_data(), 0.f, bottom[0]->mutable_gpu_diff());
  }
}
#endif  // CORTADO_WITH_CUDA

CORTADO_REGISTER_LAYER(InnerProduct, InnerProductLayer)

}  // namespace cortado
