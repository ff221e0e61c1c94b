// One LSTM time step for a batch, shared by LSTMUnit and LSTM. Gate order
// along the 4H axis is BVLC Caffe's: input i, forget f, output o, cell g.
//   c = cont * f * c_prev + i * g,   h = o * tanh(c)
// The per-unit formulas are CORTADO_HD so CUDA kernels use them too.
#ifndef CORTADO_LAYERS_LSTM_CELL_HPP_
#define CORTADO_LAYERS_LSTM_CELL_HPP_

#include <cmath>
#include <cstdint>

#include "cortado/host_device.hpp"

namespace cortado {

CORTADO_HD inline float LstmSigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// Hidden unit j of one instance. pre and acts point at the instance's 4h
// gate row; keep is its cont flag. Writes the activated gates to acts and
// returns the new c and h through c and hidden.
CORTADO_HD inline void LstmUnitForward(int h, int j, const float* pre, float keep, float c_prev,
                                       float* acts, float* c, float* hidden) {
  const float i = LstmSigmoid(pre[j]);
  const float f = LstmSigmoid(pre[h + j]);
  const float o = LstmSigmoid(pre[2 * h + j]);
  const float g = std::tanh(pre[3 * h + j]);
  acts[j] = i;
  acts[h + j] = f;
  acts[2 * h + j] = o;
  acts[3 * h + j] = g;
  *c = keep * f * c_prev + i * g;
  *hidden = o * std::tanh(*c);
}

// Hidden unit j of one instance: dh and dc are the gradients on its h and
// (from outside the step) c. Writes the gradient on the gate
// pre-activations to dpre (the instance's 4h row) and, when dc_prev is not
// null, on c_prev.
CORTADO_HD inline void LstmUnitBackward(int h, int j, const float* acts, float keep,
                                        float c_prev, float c, float dh, float dc, float* dpre,
                                        float* dc_prev) {
  const float i = acts[j], f = acts[h + j], o = acts[2 * h + j], g = acts[3 * h + j];
  const float tanh_c = std::tanh(c);
  const float dcell = dc + dh * o * (1 - tanh_c * tanh_c);
  dpre[j] = dcell * g * i * (1 - i);
  dpre[h + j] = dcell * keep * c_prev * f * (1 - f);
  dpre[2 * h + j] = dh * tanh_c * o * (1 - o);
  dpre[3 * h + j] = dcell * i * (1 - g * g);
  if (dc_prev) *dc_prev = dcell * keep * f;
}

// pre: n x 4h gate pre-activations; cont: n flags. Writes the activated gates
// to acts (n x 4h; kept for Backward) and the new state to c and h (n x h).
inline void LstmCellForward(int n, int h, const float* c_prev, const float* pre,
                            const float* cont, float* acts, float* c, float* hidden) {
  for (int s = 0; s < n; ++s) {
    const int64_t row = static_cast<int64_t>(s) * h;
    for (int j = 0; j < h; ++j) {
      LstmUnitForward(h, j, pre + 4 * row, cont[s], c_prev[row + j], acts + 4 * row,
                      &c[row + j], &hidden[row + j]);
    }
  }
}

// dh: gradient on h; dc: gradient on c from outside the step (nullptr: none).
// Writes the gradient on the gate pre-activations (n x 4h) and, when
// dc_prev is not null, on c_prev (n x h).
inline void LstmCellBackward(int n, int h, const float* c_prev, const float* acts,
                             const float* c, const float* cont, const float* dh,
                             const float* dc, float* dpre, float* dc_prev) {
  for (int s = 0; s < n; ++s) {
    const int64_t row = static_cast<int64_t>(s) * h;
    for (int j = 0; j < h; ++j) {
      LstmUnitBackward(h, j, acts + 4 * row, cont[s], c_prev[row + j], c[row + j],
                       dh[row + j], dc ? dc[row + j] : 0.f, dpre + 4 * row,
                       dc_prev ? &dc_prev[row + j] : nullptr);
    }
  }
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_LSTM_CELL_HPP_
