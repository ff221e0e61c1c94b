// LSTM over a whole sequence, computed directly: one GEMM for every step's
// input term, then per step a GEMM for the recurrent term and the cell.
// Parameters in BVLC Caffe's order, so caffemodels load: W_xc (4H x I),
// b_c (4H), [W_xc_static (4H x I_static) with x_static], W_hc (4H x H).
//   gates_t = W_xc x_t + b_c [+ W_xc_static x_static] + W_hc (cont_t * h_{t-1})
//   c_t, h_t = LSTM cell (lstm_cell.hpp); output h (T x N x H).
#include <algorithm>
#include <vector>

#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "../util/channel_sum_gpu.hpp"
#include "lstm_cell.hpp"
#include "recurrent_gpu.hpp"
#include "recurrent_layer.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// lstm_unit_layer.cu: LSTMUnit's cell kernels, one step for a batch.
void LstmUnitForwardGpu(int n, int h, const float* c_prev, const float* pre, const float* cont,
                        float* acts, float* c, float* hidden);
void LstmUnitBackwardGpu(int n, int h, const float* c_prev, const float* acts, const float* c,
                         const float* cont, const float* dh, const float* dc, float* dpre,
                         float* dc_prev);
#endif

namespace {

class LstmLayer : public RecurrentLayer {
 public:
  explicit LstmLayer(const caffe::LayerParameter& param) : RecurrentLayer(param, 2) {}
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "LSTM"; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    RecurrentLayer::LayerSetUp(bottom, top);
    const caffe::RecurrentParameter& p = layer_param_.recurrent_param();
    const size_t expected = has_static_ ? 4 : 3;
    if (!blobs_.empty() && blobs_.size() != expected) {
      ThrowError(ErrorPrefix(), "expects ", expected, " parameter blobs, got ", blobs_.size());
    }
    const int gates = 4 * hidden_;
    AddParameter(0, {gates, inputs_}, p.weight_filler());
    AddParameter(1, {gates}, p.bias_filler());
    if (has_static_) AddParameter(2, {gates, static_inputs_}, p.weight_filler());
    AddParameter(RecurrentWeight(), {gates, hidden_}, p.weight_filler());
    param_propagate_down_.assign(blobs_.size(), true);
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    RecurrentLayer::Reshape(bottom, top);
    const size_t rows = static_cast<size_t>(steps_) * instances_;
    gates_.resize(rows * 4 * hidden_);
    acts_.resize(rows * 4 * hidden_);
    cells_.resize(rows * hidden_);
    conted_h_.resize(rows * hidden_);
    initial_c_.resize(static_cast<size_t>(instances_) * hidden_);
    ones_.assign(rows, 1.f);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int n = instances_, h = hidden_, g = 4 * hidden_;
    const int rows = steps_ * n;
    const float* cont = bottom[1]->cpu_data();
    Gemm(Trans::kNo, Trans::kYes, rows, g, inputs_, 1.f, bottom[0]->cpu_data(),
         blobs_[0]->cpu_data(), 0.f, gates_.data());
    for (int r = 0; r < rows; ++r) Axpy(g, 1.f, blobs_[1]->cpu_data(), &gates_[int64_t(r) * g]);
    if (has_static_) {
      std::vector<float> static_term(static_cast<size_t>(n) * g);
      Gemm(Trans::kNo, Trans::kYes, n, g, static_inputs_, 1.f, bottom[2]->cpu_data(),
           blobs_[2]->cpu_data(), 0.f, static_term.data());
      for (int t = 0; t < steps_; ++t) {
        Axpy(int64_t(n) * g, 1.f, static_term.data(), &gates_[int64_t(t) * n * g]);
      }
    }
    // The carry is overwritten below; Backward still needs c_0.
    std::copy_n(InitialState(bottom, 1), initial_c_.size(), initial_c_.begin());
    const float* w_hc = blobs_[RecurrentWeight()]->cpu_data();
    float* out = top[0]->mutable_cpu_data();
    const int64_t nh = int64_t(n) * h;
    for (int t = 0; t < steps_; ++t) {
      const float* h_prev = t == 0 ? InitialState(bottom, 0) : out + (t - 1) * nh;
      const float* c_prev = t == 0 ? initial_c_.data() : &cells_[(t - 1) * nh];
      const float* cont_t = cont + int64_t(t) * n;
      float* conted = &conted_h_[t * nh];
      for (int s = 0; s < n; ++s) {
        Scale(h, cont_t[s], h_prev + int64_t(s) * h, conted + int64_t(s) * h);
      }
      float* gates_t = &gates_[t * nh * 4];
      Gemm(Trans::kNo, Trans::kYes, n, g, h, 1.f, conted, w_hc, 1.f, gates_t);
      LstmCellForward(n, h, c_prev, gates_t, cont_t, &acts_[t * nh * 4], &cells_[t * nh],
                      out + t * nh);
    }
    FinalState(top, 0, out + (steps_ - 1) * nh);
    FinalState(top, 1, &cells_[(steps_ - 1) * nh]);
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[1]) ThrowError(ErrorPrefix(), "cannot back-propagate to cont");
    const int n = instances_, h = hidden_, g = 4 * hidden_;
    const int rows = steps_ * n;
    const int64_t nh = int64_t(n) * h;
    const float* cont = bottom[1]->cpu_data();
    const float* dout = top[0]->cpu_diff();
    const float* w_hc = blobs_[RecurrentWeight()]->cpu_data();
    // d(gates) for every step; dh/dc flow backwards through time.
    std::vector<float>& dgates = gates_;  // the forward pre-activations are spent
    std::vector<float> dh_next(nh, 0.f), dc_next(nh, 0.f), dh(nh), dc_prev(nh), dconted(nh);
    if (expose_hidden_) {
      std::copy_n(top[1]->cpu_diff(), nh, dh_next.begin());
      std::copy_n(top[2]->cpu_diff(), nh, dc_next.begin());
    }
    for (int t = steps_ - 1; t >= 0; --t) {
      Add(nh, dout + t * nh, dh_next.data(), dh.data());
      const float* c_prev = t == 0 ? initial_c_.data() : &cells_[(t - 1) * nh];
      const float* cont_t = cont + int64_t(t) * n;
      float* dgates_t = &dgates[t * nh * 4];
      LstmCellBackward(n, h, c_prev, &acts_[t * nh * 4], &cells_[t * nh], cont_t, dh.data(),
                       dc_next.data(), dgates_t, dc_prev.data());
      dc_next.swap(dc_prev);
      Gemm(Trans::kNo, Trans::kNo, n, h, g, 1.f, dgates_t, w_hc, 0.f, dconted.data());
      for (int s = 0; s < n; ++s) {
        Scale(h, cont_t[s], &dconted[int64_t(s) * h], &dh_next[int64_t(s) * h]);
      }
    }
    if (expose_hidden_) {
      if (propagate_down[StateBottom(0)]) {
        std::copy(dh_next.begin(), dh_next.end(), bottom[StateBottom(0)]->mutable_cpu_diff());
      }
      if (propagate_down[StateBottom(1)]) {
        std::copy(dc_next.begin(), dc_next.end(), bottom[StateBottom(1)]->mutable_cpu_diff());
      }
    }
    const float* dgate = dgates.data();
    if (param_propagate_down(RecurrentWeight())) {
      Gemm(Trans::kYes, Trans::kNo, g, h, rows, 1.f, dgate, conted_h_.data(), 1.f,
           blobs_[RecurrentWeight()]->mutable_cpu_diff());
    }
    if (param_propagate_down(0)) {
      Gemm(Trans::kYes, Trans::kNo, g, inputs_, rows, 1.f, dgate, bottom[0]->cpu_data(), 1.f,
           blobs_[0]->mutable_cpu_diff());
    }
    if (param_propagate_down(1)) {
      Gemv(Trans::kYes, rows, g, 1.f, dgate, ones_.data(), 1.f, blobs_[1]->mutable_cpu_diff());
    }
    if (has_static_ && (param_propagate_down(2) || propagate_down[2])) {
      // x_static feeds every step: its gradient sums over time.
      std::vector<float> dsum(static_cast<size_t>(n) * g, 0.f);
      for (int t = 0; t < steps_; ++t) Axpy(int64_t(n) * g, 1.f, dgate + t * nh * 4, dsum.data());
      if (param_propagate_down(2)) {
        Gemm(Trans::kYes, Trans::kNo, g, static_inputs_, n, 1.f, dsum.data(),
             bottom[2]->cpu_data(), 1.f, blobs_[2]->mutable_cpu_diff());
      }
      if (propagate_down[2]) {
        Gemm(Trans::kNo, Trans::kNo, n, static_inputs_, g, 1.f, dsum.data(),
             blobs_[2]->cpu_data(), 0.f, bottom[2]->mutable_cpu_diff());
      }
    }
    if (propagate_down[0]) {
      Gemm(Trans::kNo, Trans::kNo, rows, inputs_, g, 1.f, dgate, blobs_[0]->cpu_data(), 0.f,
           bottom[0]->mutable_cpu_diff());
    }
  }

#ifdef CORTADO_WITH_CUDA
  // The CPU passes step by step, with gpu::Gemm and LSTMUnit's cell
  // kernels; the per-column bias sum uses ChannelSumGpu over the rows.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const int n = instances_, h = hidden_, g = 4 * hidden_;
    const int rows = steps_ * n;
    const int64_t nh = int64_t(n) * h;
    ReshapeGpuScratch();
    const float* cont = bottom[1]->gpu_data();
    float* gates = gates_gpu_.mutable_gpu_data();
    gpu::Gemm(Trans::kNo, Trans::kYes, rows, g, inputs_, 1.f, bottom[0]->gpu_data(),
              blobs_[0]->gpu_data(), 0.f, gates);
    AddRowBiasGpu(rows, g, blobs_[1]->gpu_data(), gates);
    float* scratch = state_gpu_.mutable_gpu_data();  // N x 4H
    if (has_static_) {
      gpu::Gemm(Trans::kNo, Trans::kYes, n, g, static_inputs_, 1.f, bottom[2]->gpu_data(),
                blobs_[2]->gpu_data(), 0.f, scratch);
      for (int t = 0; t < steps_; ++t) gpu::Axpy(int64_t(n) * g, 1.f, scratch, gates + t * nh * 4);
    }
    // The carry is overwritten below; Backward still needs c_0.
    float* initial_c = initial_c_gpu_.mutable_gpu_data();
    gpu::Copy(nh, InitialStateGpu(bottom, 1), initial_c);
    const float* w_hc = blobs_[RecurrentWeight()]->gpu_data();
    float* out = top[0]->mutable_gpu_data();
    float* acts = acts_gpu_.mutable_gpu_data();
    float* cells = cells_gpu_.mutable_gpu_data();
    float* conted_all = conted_h_gpu_.mutable_gpu_data();
    for (int t = 0; t < steps_; ++t) {
      const float* h_prev = t == 0 ? InitialStateGpu(bottom, 0) : out + (t - 1) * nh;
      const float* c_prev = t == 0 ? initial_c : cells + (t - 1) * nh;
      const float* cont_t = cont + int64_t(t) * n;
      float* conted = conted_all + t * nh;
      ScaleRowsGpu(n, h, cont_t, h_prev, conted);
      float* gates_t = gates + t * nh * 4;
      gpu::Gemm(Trans::kNo, Trans::kYes, n, g, h, 1.f, conted, w_hc, 1.f, gates_t);
      LstmUnitForwardGpu(n, h, c_prev, gates_t, cont_t, acts + t * nh * 4, cells + t * nh,
                         out + t * nh);
    }
    FinalStateGpu(top, 0, out + (steps_ - 1) * nh);
    FinalStateGpu(top, 1, cells + (steps_ - 1) * nh);
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (propagate_down[1]) ThrowError(ErrorPrefix(), "cannot back-propagate to cont");
    const int n = instances_, h = hidden_, g = 4 * hidden_;
    const int rows = steps_ * n;
    const int64_t nh = int64_t(n) * h;
    const float* cont = bottom[1]->gpu_data();
    const float* dout = top[0]->gpu_diff();
    const float* w_hc = blobs_[RecurrentWeight()]->gpu_data();
    const float* acts = acts_gpu_.gpu_data();
    const float* cells = cells_gpu_.gpu_data();
    const float* initial_c = initial_c_gpu_.gpu_data();
    float* dgates = gates_gpu_.mutable_gpu_data();  // the forward pre-activations are spent
    // Five N x H rows after the N x 4H scratch: dh_next, dc_next, dh,
    // dc_prev, d(conted).
    float* dh_next = state_gpu_.mutable_gpu_data() + 4 * nh;
    float* dc_next = dh_next + nh;
    float* dh = dc_next + nh;
    float* dc_prev = dh + nh;
    float* dconted = dc_prev + nh;
    if (expose_hidden_) {
      gpu::Copy(nh, top[1]->gpu_diff(), dh_next);
      gpu::Copy(nh, top[2]->gpu_diff(), dc_next);
    } else {
      gpu::Set(nh, 0.f, dh_next);
      gpu::Set(nh, 0.f, dc_next);
    }
    for (int t = steps_ - 1; t >= 0; --t) {
      gpu::Add(nh, dout + t * nh, dh_next, dh);
      const float* c_prev = t == 0 ? initial_c : cells + (t - 1) * nh;
      const float* cont_t = cont + int64_t(t) * n;
      float* dgates_t = dgates + t * nh * 4;
      LstmUnitBackwardGpu(n, h, c_prev, acts + t * nh * 4, cells + t * nh, cont_t, dh, dc_next,
                          dgates_t, dc_prev);
      std::swap(dc_next, dc_prev);
      gpu::Gemm(Trans::kNo, Trans::kNo, n, h, g, 1.f, dgates_t, w_hc, 0.f, dconted);
      ScaleRowsGpu(n, h, cont_t, dconted, dh_next);
    }
    if (expose_hidden_) {
      if (propagate_down[StateBottom(0)]) {
        gpu::Copy(nh, dh_next, bottom[StateBottom(0)]->mutable_gpu_diff());
      }
      if (propagate_down[StateBottom(1)]) {
        gpu::Copy(nh, dc_next, bottom[StateBottom(1)]->mutable_gpu_diff());
      }
    }
    if (param_propagate_down(RecurrentWeight())) {
      gpu::Gemm(Trans::kYes, Trans::kNo, g, h, rows, 1.f, dgates, conted_h_gpu_.gpu_data(), 1.f,
                blobs_[RecurrentWeight()]->mutable_gpu_diff());
    }
    if (param_propagate_down(0)) {
      gpu::Gemm(Trans::kYes, Trans::kNo, g, inputs_, rows, 1.f, dgates, bottom[0]->gpu_data(),
                1.f, blobs_[0]->mutable_gpu_diff());
    }
    if (param_propagate_down(1)) {
      ChannelSumGpu(rows, g, 1, dgates, nullptr, 1.f, blobs_[1]->mutable_gpu_diff());
    }
    if (has_static_ && (param_propagate_down(2) || propagate_down[2])) {
      // x_static feeds every step: its gradient sums over time.
      float* dsum = state_gpu_.mutable_gpu_data();  // N x 4H
      ChannelSumGpu(steps_, int64_t(n) * g, 1, dgates, nullptr, 0.f, dsum);
      if (param_propagate_down(2)) {
        gpu::Gemm(Trans::kYes, Trans::kNo, g, static_inputs_, n, 1.f, dsum,
                  bottom[2]->gpu_data(), 1.f, blobs_[2]->mutable_gpu_diff());
      }
      if (propagate_down[2]) {
        gpu::Gemm(Trans::kNo, Trans::kNo, n, static_inputs_, g, 1.f, dsum,
                  blobs_[2]->gpu_data(), 0.f, bottom[2]->mutable_gpu_diff());
      }
    }
    if (propagate_down[0]) {
      gpu::Gemm(Trans::kNo, Trans::kNo, rows, inputs_, g, 1.f, dgates, blobs_[0]->gpu_data(),
                0.f, bottom[0]->mutable_gpu_diff());
    }
  }

  void ReshapeGpuScratch() {
    const int rows = steps_ * instances_;
    gates_gpu_.Reshape(std::vector<int>{rows, 4 * hidden_});
    acts_gpu_.Reshape(std::vector<int>{rows, 4 * hidden_});
    cells_gpu_.Reshape(std::vector<int>{rows, hidden_});
    conted_h_gpu_.Reshape(std::vector<int>{rows, hidden_});
    initial_c_gpu_.Reshape(std::vector<int>{instances_, hidden_});
    state_gpu_.Reshape(std::vector<int>{9, instances_, hidden_});
  }
#endif

 private:
  int RecurrentWeight() const { return has_static_ ? 3 : 2; }

#ifdef CORTADO_WITH_CUDA
  // The CPU vectors' device twins; state_gpu_ holds an N x 4H scratch and
  // five N x H rows for the backward pass.
  Blob gates_gpu_, acts_gpu_, cells_gpu_, conted_h_gpu_, initial_c_gpu_, state_gpu_;
#endif

  std::vector<float> gates_;      // T*N x 4H pre-activations (Backward: their gradient)
  std::vector<float> acts_;       // T*N x 4H activated gates
  std::vector<float> cells_;      // T*N x H cell states c_t
  std::vector<float> conted_h_;   // T*N x H: cont_t * h_{t-1}, the W_hc input
  std::vector<float> initial_c_;  // N x H: c_0 of the last Forward
  std::vector<float> ones_;
};

}  // namespace

CORTADO_REGISTER_LAYER(LSTM, LstmLayer)

}  // namespace cortado
