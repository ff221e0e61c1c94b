// RNN (Elman) over a whole sequence, computed directly with GEMMs.
// Parameters in BVLC Caffe's order, so caffemodels load: W_xh (H x I),
// b_h (H), [W_xh_static (H x I_static) with x_static], W_hh (H x H),
// W_ho (H x H), b_o (H).
//   h_t = tanh(W_xh x_t + b_h [+ W_xh_static x_static] + W_hh (cont_t * h_{t-1}))
//   o_t = tanh(W_ho h_t + b_o); output o (T x N x H).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "../util/channel_sum_gpu.hpp"
#include "recurrent_gpu.hpp"
#include "recurrent_layer.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// rnn_layer.cu
void RnnTanhGpu(int64_t rows, int64_t cols, const float* bias, float* y);
void RnnTanhGradientGpu(int64_t n, const float* y, const float* add, const float* dy,
                        float* d);
#endif

namespace {

class RnnLayer : public RecurrentLayer {
 public:
  explicit RnnLayer(const caffe::LayerParameter& param) : RecurrentLayer(param, 1) {}
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "RNN"; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    RecurrentLayer::LayerSetUp(bottom, top);
    const caffe::RecurrentParameter& p = layer_param_.recurrent_param();
    const size_t expected = has_static_ ? 6 : 5;
    if (!blobs_.empty() && blobs_.size() != expected) {
      ThrowError(ErrorPrefix(), "expects ", expected, " parameter blobs, got ", blobs_.size());
    }
    const int s = has_static_ ? 1 : 0;
    AddParameter(0, {hidden_, inputs_}, p.weight_filler());
    AddParameter(1, {hidden_}, p.bias_filler());
    if (has_static_) AddParameter(2, {hidden_, static_inputs_}, p.weight_filler());
    AddParameter(2 + s, {hidden_, hidden_}, p.weight_filler());
    AddParameter(3 + s, {hidden_, hidden_}, p.weight_filler());
    AddParameter(4 + s, {hidden_}, p.bias_filler());
    param_propagate_down_.assign(blobs_.size(), true);
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    RecurrentLayer::Reshape(bottom, top);
    const size_t rows = static_cast<size_t>(steps_) * instances_;
    hidden_states_.resize(rows * hidden_);
    conted_h_.resize(rows * hidden_);
    scratch_.resize(rows * hidden_);
    ones_.assign(rows, 1.f);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int n = instances_, h = hidden_;
    const int rows = steps_ * n;
    const int64_t nh = int64_t(n) * h;
    const float* cont = bottom[1]->cpu_data();
    float* hs = hidden_states_.data();
    // The input terms of every step at once; each step then adds W_hh h.
    Gemm(Trans::kNo, Trans::kYes, rows, h, inputs_, 1.f, bottom[0]->cpu_data(),
         blobs_[0]->cpu_data(), 0.f, hs);
    for (int r = 0; r < rows; ++r) Axpy(h, 1.f, blobs_[1]->cpu_data(), hs + int64_t(r) * h);
    if (has_static_) {
      std::vector<float> static_term(nh);
      Gemm(Trans::kNo, Trans::kYes, n, h, static_inputs_, 1.f, bottom[2]->cpu_data(),
           blobs_[2]->cpu_data(), 0.f, static_term.data());
      for (int t = 0; t < steps_; ++t) Axpy(nh, 1.f, static_term.data(), hs + t * nh);
    }
    const float* w_hh = blobs_[WhhIndex()]->cpu_data();
    for (int t = 0; t < steps_; ++t) {
      const float* h_prev = t == 0 ? InitialState(bottom, 0) : hs + (t - 1) * nh;
      const float* cont_t = cont + int64_t(t) * n;
      float* conted = &conted_h_[t * nh];
      for (int s = 0; s < n; ++s) {
        Scale(h, cont_t[s], h_prev + int64_t(s) * h, conted + int64_t(s) * h);
      }
      float* h_t = hs + t * nh;
      Gemm(Trans::kNo, Trans::kYes, n, h, h, 1.f, conted, w_hh, 1.f, h_t);
      for (int64_t i = 0; i < nh; ++i) h_t[i] = std::tanh(h_t[i]);
    }
    FinalState(top, 0, hs + (steps_ - 1) * nh);
    float* out = top[0]->mutable_cpu_data();
    Gemm(Trans::kNo, Trans::kYes, rows, h, h, 1.f, hs, blobs_[WhhIndex() + 1]->cpu_data(), 0.f,
         out);
    const float* b_o = blobs_[WhhIndex() + 2]->cpu_data();
    for (int r = 0; r < rows; ++r) {
      float* o = out + int64_t(r) * h;
      for (int j = 0; j < h; ++j) o[j] = std::tanh(o[j] + b_o[j]);
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[1]) ThrowError(ErrorPrefix(), "cannot back-propagate to cont");
    const int n = instances_, h = hidden_;
    const int rows = steps_ * n;
    const int64_t nh = int64_t(n) * h;
    const int64_t total = int64_t(rows) * h;
    const float* cont = bottom[1]->cpu_data();
    const float* hs = hidden_states_.data();
    const int whh = WhhIndex();
    // Output layer: d(pre-tanh) of o, then its parameters and d(h).
    std::vector<float> dpre(total);
    const float* out = top[0]->cpu_data();
    const float* dout = top[0]->cpu_diff();
    for (int64_t i = 0; i < total; ++i) dpre[i] = dout[i] * (1 - out[i] * out[i]);
    if (param_propagate_down(whh + 1)) {
      Gemm(Trans::kYes, Trans::kNo, h, h, rows, 1.f, dpre.data(), hs, 1.f,
           blobs_[whh + 1]->mutable_cpu_diff());
    }
    if (param_propagate_down(whh + 2)) {
      Gemv(Trans::kYes, rows, h, 1.f, dpre.data(), ones_.data(), 1.f,
           blobs_[whh + 2]->mutable_cpu_diff());
    }
    float* da = scratch_.data();  // d(h) from the output, then d(pre-tanh) of h
    Gemm(Trans::kNo, Trans::kNo, rows, h, h, 1.f, dpre.data(), blobs_[whh + 1]->cpu_data(), 0.f,
         da);
    // Back through time.
    std::vector<float> dh_next(nh, 0.f), dconted(nh);
    if (expose_hidden_) std::copy_n(top[1]->cpu_diff(), nh, dh_next.begin());
    const float* w_hh = blobs_[whh]->cpu_data();
    for (int t = steps_ - 1; t >= 0; --t) {
      float* da_t = da + t * nh;
      const float* h_t = hs + t * nh;
      for (int64_t i = 0; i < nh; ++i) da_t[i] = (da_t[i] + dh_next[i]) * (1 - h_t[i] * h_t[i]);
      Gemm(Trans::kNo, Trans::kNo, n, h, h, 1.f, da_t, w_hh, 0.f, dconted.data());
      const float* cont_t = cont + int64_t(t) * n;
      for (int s = 0; s < n; ++s) {
        Scale(h, cont_t[s], &dconted[int64_t(s) * h], &dh_next[int64_t(s) * h]);
      }
    }
    if (expose_hidden_ && propagate_down[StateBottom(0)]) {
      std::copy(dh_next.begin(), dh_next.end(), bottom[StateBottom(0)]->mutable_cpu_diff());
    }
    if (param_propagate_down(whh)) {
      Gemm(Trans::kYes, Trans::kNo, h, h, rows, 1.f, da, conted_h_.data(), 1.f,
           blobs_[whh]->mutable_cpu_diff());
    }
    if (param_propagate_down(0)) {
      Gemm(Trans::kYes, Trans::kNo, h, inputs_, rows, 1.f, da, bottom[0]->cpu_data(), 1.f,
           blobs_[0]->mutable_cpu_diff());
    }
    if (param_propagate_down(1)) {
      Gemv(Trans::kYes, rows, h, 1.f, da, ones_.data(), 1.f, blobs_[1]->mutable_cpu_diff());
    }
    if (has_static_ && (param_propagate_down(2) || propagate_down[2])) {
      // x_static feeds every step: its gradient sums over time.
      std::vector<float> dsum(nh, 0.f);
      for (int t = 0; t < steps_; ++t) Axpy(nh, 1.f, da + t * nh, dsum.data());
      if (param_propagate_down(2)) {
        Gemm(Trans::kYes, Trans::kNo, h, static_inputs_, n, 1.f, dsum.data(),
             bottom[2]->cpu_data(), 1.f, blobs_[2]->mutable_cpu_diff());
      }
      if (propagate_down[2]) {
        Gemm(Trans::kNo, Trans::kNo, n, static_inputs_, h, 1.f, dsum.data(),
             blobs_[2]->cpu_data(), 0.f, bottom[2]->mutable_cpu_diff());
      }
    }
    if (propagate_down[0]) {
      Gemm(Trans::kNo, Trans::kNo, rows, inputs_, h, 1.f, da, blobs_[0]->cpu_data(), 0.f,
           bottom[0]->mutable_cpu_diff());
    }
  }

#ifdef CORTADO_WITH_CUDA
  // The CPU passes step by step, with gpu::Gemm and rnn_layer.cu's kernels;
  // the per-column parameter sums use ChannelSumGpu over the rows.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const int n = instances_, h = hidden_;
    const int rows = steps_ * n;
    const int64_t nh = int64_t(n) * h;
    const float* cont = bottom[1]->gpu_data();
    ReshapeGpuScratch();
    float* hs = hidden_states_gpu_.mutable_gpu_data();
    gpu::Gemm(Trans::kNo, Trans::kYes, rows, h, inputs_, 1.f, bottom[0]->gpu_data(),
              blobs_[0]->gpu_data(), 0.f, hs);
    AddRowBiasGpu(rows, h, blobs_[1]->gpu_data(), hs);
    if (has_static_) {
      float* static_term = state_gpu_.mutable_gpu_data();
      gpu::Gemm(Trans::kNo, Trans::kYes, n, h, static_inputs_, 1.f, bottom[2]->gpu_data(),
                blobs_[2]->gpu_data(), 0.f, static_term);
      for (int t = 0; t < steps_; ++t) gpu::Axpy(nh, 1.f, static_term, hs + t * nh);
    }
    const float* w_hh = blobs_[WhhIndex()]->gpu_data();
    float* conted_all = conted_h_gpu_.mutable_gpu_data();
    for (int t = 0; t < steps_; ++t) {
      const float* h_prev = t == 0 ? InitialStateGpu(bottom, 0) : hs + (t - 1) * nh;
      float* conted = conted_all + t * nh;
      ScaleRowsGpu(n, h, cont + int64_t(t) * n, h_prev, conted);
      float* h_t = hs + t * nh;
      gpu::Gemm(Trans::kNo, Trans::kYes, n, h, h, 1.f, conted, w_hh, 1.f, h_t);
      RnnTanhGpu(n, h, nullptr, h_t);
    }
    FinalStateGpu(top, 0, hs + (steps_ - 1) * nh);
    float* out = top[0]->mutable_gpu_data();
    gpu::Gemm(Trans::kNo, Trans::kYes, rows, h, h, 1.f, hs, blobs_[WhhIndex() + 1]->gpu_data(),
              0.f, out);
    RnnTanhGpu(rows, h, blobs_[WhhIndex() + 2]->gpu_data(), out);
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (propagate_down[1]) ThrowError(ErrorPrefix(), "cannot back-propagate to cont");
    const int n = instances_, h = hidden_;
    const int rows = steps_ * n;
    const int64_t nh = int64_t(n) * h;
    const int64_t total = int64_t(rows) * h;
    const float* cont = bottom[1]->gpu_data();
    const float* hs = hidden_states_gpu_.gpu_data();
    const int whh = WhhIndex();
    float* dpre = dpre_gpu_.mutable_gpu_data();
    RnnTanhGradientGpu(total, top[0]->gpu_data(), nullptr, top[0]->gpu_diff(), dpre);
    if (param_propagate_down(whh + 1)) {
      gpu::Gemm(Trans::kYes, Trans::kNo, h, h, rows, 1.f, dpre, hs, 1.f,
                blobs_[whh + 1]->mutable_gpu_diff());
    }
    if (param_propagate_down(whh + 2)) {
      ChannelSumGpu(rows, h, 1, dpre, nullptr, 1.f, blobs_[whh + 2]->mutable_gpu_diff());
    }
    float* da = scratch_gpu_.mutable_gpu_data();
    gpu::Gemm(Trans::kNo, Trans::kNo, rows, h, h, 1.f, dpre, blobs_[whh + 1]->gpu_data(), 0.f,
              da);
    float* dh_next = state_gpu_.mutable_gpu_data() + nh;
    float* dconted = dh_next + nh;
    if (expose_hidden_) {
      gpu::Copy(nh, top[1]->gpu_diff(), dh_next);
    } else {
      gpu::Set(nh, 0.f, dh_next);
    }
    const float* w_hh = blobs_[whh]->gpu_data();
    for (int t = steps_ - 1; t >= 0; --t) {
      float* da_t = da + t * nh;
      RnnTanhGradientGpu(nh, hs + t * nh, dh_next, da_t, da_t);
      gpu::Gemm(Trans::kNo, Trans::kNo, n, h, h, 1.f, da_t, w_hh, 0.f, dconted);
      ScaleRowsGpu(n, h, cont + int64_t(t) * n, dconted, dh_next);
    }
    if (expose_hidden_ && propagate_down[StateBottom(0)]) {
      gpu::Copy(nh, dh_next, bottom[StateBottom(0)]->mutable_gpu_diff());
    }
    if (param_propagate_down(whh)) {
      gpu::Gemm(Trans::kYes, Trans::kNo, h, h, rows, 1.f, da, conted_h_gpu_.gpu_data(), 1.f,
                blobs_[whh]->mutable_gpu_diff());
    }
    if (param_propagate_down(0)) {
      gpu::Gemm(Trans::kYes, Trans::kNo, h, inputs_, rows, 1.f, da, bottom[0]->gpu_data(), 1.f,
                blobs_[0]->mutable_gpu_diff());
    }
    if (param_propagate_down(1)) {
      ChannelSumGpu(rows, h, 1, da, nullptr, 1.f, blobs_[1]->mutable_gpu_diff());
    }
    if (has_static_ && (param_propagate_down(2) || propagate_down[2])) {
      // x_static feeds every step: its gradient sums over time.
      float* dsum = state_gpu_.mutable_gpu_data();
      ChannelSumGpu(steps_, nh, 1, da, nullptr, 0.f, dsum);
      if (param_propagate_down(2)) {
        gpu::Gemm(Trans::kYes, Trans::kNo, h, static_inputs_, n, 1.f, dsum,
                  bottom[2]->gpu_data(), 1.f, blobs_[2]->mutable_gpu_diff());
      }
      if (propagate_down[2]) {
        gpu::Gemm(Trans::kNo, Trans::kNo, n, static_inputs_, h, 1.f, dsum,
                  blobs_[2]->gpu_data(), 0.f, bottom[2]->mutable_gpu_diff());
      }
    }
    if (propagate_down[0]) {
      gpu::Gemm(Trans::kNo, Trans::kNo, rows, inputs_, h, 1.f, da, blobs_[0]->gpu_data(), 0.f,
                bottom[0]->mutable_gpu_diff());
    }
  }

  void ReshapeGpuScratch() {
    const std::vector<int> all{steps_ * instances_, hidden_};
    hidden_states_gpu_.Reshape(all);
    conted_h_gpu_.Reshape(all);
    scratch_gpu_.Reshape(all);
    dpre_gpu_.Reshape(all);
    state_gpu_.Reshape(std::vector<int>{3, instances_, hidden_});
  }
#endif

 private:
  int WhhIndex() const { return has_static_ ? 3 : 2; }

#ifdef CORTADO_WITH_CUDA
  // The CPU vectors' device twins; state_gpu_ holds three N x H rows:
  // the static term (or its gradient sum), dh_next and d(conted).
  Blob hidden_states_gpu_, conted_h_gpu_, scratch_gpu_, dpre_gpu_, state_gpu_;
#endif

  std::vector<float> hidden_states_;  // T*N x H: h_t
  std::vector<float> conted_h_;       // T*N x H: cont_t * h_{t-1}, the W_hh input
  std::vector<float> scratch_;        // T*N x H gradients in Backward
  std::vector<float> ones_;
};

}  // namespace

CORTADO_REGISTER_LAYER(RNN, RnnLayer)

}  // namespace cortado
