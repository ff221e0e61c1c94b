// One LSTM time step for a batch, shared by LSTMUnit and LSTM. Gate order
// along the 4H axis is BVLC Caffe's: input i, forget f, output o, cell g.
//   c = cont * f * c_prev + i * g,   h = o * tanh(c)
#ifndef CORTADO_LAYERS_LSTM_CELL_HPP_
#define CORTADO_LAYERS_LSTM_CELL_HPP_

#include <cmath>

namespace cortado {

inline float LstmSigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// pre: n x 4h gate pre-activations; cont: n flags. Writes the activated gates
// to acts (n x 4h; kept for Backward) and the new state to c and h (n x h).
inline void LstmCellForward(int n, int h, const float* c_prev, const float* pre,
                            const float* cont, float* acts, float* c, float* hidden) {
  for (int s = 0; s < n; ++s) {
    const float* x = pre + static_cast<int64_t>(s) * 4 * h;
    float* a = acts + static_cast<int64_t>(s) * 4 * h;
    for (int j = 0; j < 3 * h; ++j) a[j] = LstmSigmoid(x[j]);
    for (int j = 3 * h; j < 4 * h; ++j) a[j] = std::tanh(x[j]);
    const float keep = cont[s];
    const float* cp = c_prev + static_cast<int64_t>(s) * h;
    float* cs = c + static_cast<int64_t>(s) * h;
    float* hs = hidden + static_cast<int64_t>(s) * h;
    for (int j = 0; j < h; ++j) {
      cs[j] = keep * a[h + j] * cp[j] + a[j] * a[3 * h + j];
      hs[j] = a[2 * h + j] * std::tanh(cs[j]);
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
    const float* a = acts + 4 * row;
    float* d = dpre + 4 * row;
    const float keep = cont[s];
    for (int j = 0; j < h; ++j) {
      const float i = a[j], f = a[h + j], o = a[2 * h + j], g = a[3 * h + j];
      const float tanh_c = std::tanh(c[row + j]);
      const float dcell = (dc ? dc[row + j] : 0.f) + dh[row + j] * o * (1 - tanh_c * tanh_c);
      d[j] = dcell * g * i * (1 - i);
      d[h + j] = dcell * keep * c_prev[row + j] * f * (1 - f);
      d[2 * h + j] = dh[row + j] * tanh_c * o * (1 - o);
      d[3 * h + j] = dcell * i * (1 - g * g);
      if (dc_prev) dc_prev[row + j] = dcell * keep * f;
    }
  }
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_LSTM_CELL_HPP_
