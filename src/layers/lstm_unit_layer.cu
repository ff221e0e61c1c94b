// LSTMUnit's CUDA kernels; lstm_unit_layer.cpp holds the layer and calls
// these. One thread per (instance, hidden unit), through lstm_cell.hpp's
// per-unit formulas.
#include "cortado/cuda.hpp"
#include "lstm_cell.hpp"

namespace cortado {
namespace {

__global__ void LstmUnitForwardKernel(int64_t units, int h, const float* c_prev,
                                      const float* pre, const float* cont, float* acts,
                                      float* c, float* hidden) {
  CORTADO_KERNEL_LOOP(u, units) {
    const int64_t s = u / h;
    const int j = static_cast<int>(u % h);
    LstmUnitForward(h, j, pre + 4 * s * h, cont[s], c_prev[u], acts + 4 * s * h, &c[u],
                    &hidden[u]);
  }
}

__global__ void LstmUnitBackwardKernel(int64_t units, int h, const float* c_prev,
                                       const float* acts, const float* c, const float* cont,
                                       const float* dh, const float* dc, float* dpre,
                                       float* dc_prev) {
  CORTADO_KERNEL_LOOP(u, units) {
    const int64_t s = u / h;
    const int j = static_cast<int>(u % h);
    LstmUnitBackward(h, j, acts + 4 * s * h, cont[s], c_prev[u], c[u], dh[u], dc[u],
                     dpre + 4 * s * h, dc_prev ? &dc_prev[u] : nullptr);
  }
}

}  // namespace

void LstmUnitForwardGpu(int n, int h, const float* c_prev, const float* pre, const float* cont,
                        float* acts, float* c, float* hidden) {
  const int64_t units = static_cast<int64_t>(n) * h;
  LstmUnitForwardKernel<<<cuda::BlocksFor(units), cuda::kThreadsPerBlock>>>(
      units, h, c_prev, pre, cont, acts, c, hidden);
  cuda::CheckLaunch("LstmUnitForwardKernel");
}

void LstmUnitBackwardGpu(int n, int h, const float* c_prev, const float* acts, const float* c,
                         const float* cont, const float* dh, const float* dc, float* dpre,
                         float* dc_prev) {
  const int64_t units = static_cast<int64_t>(n) * h;
  LstmUnitBackwardKernel<<<cuda::BlocksFor(units), cuda::kThreadsPerBlock>>>(
      units, h, c_prev, acts, c, cont, dh, dc, dpre, dc_prev);
  cuda::CheckLaunch("LstmUnitBackwardKernel");
}

}  // namespace cortado
