// Power's CUDA kernels; power_layer.cpp holds the layer and calls these.
// One kernel per PowerForm, as the CPU loops are.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

template <PowerForm kForm>
__global__ void PowerForwardKernel(int64_t n, const float* x, float power, float scale,
                                   float shift, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = PowerValue<kForm>(x[i], power, scale, shift); }
}

template <PowerForm kForm>
__global__ void PowerBackwardKernel(int64_t n, const float* dy, const float* x, float power,
                                    float scale, float shift, float* dx) {
  const float diff_scale = power * scale;
  CORTADO_KERNEL_LOOP(i, n) {
    dx[i] = PowerGradient<kForm>(dy[i], x[i], power, scale, shift, diff_scale);
  }
}

template <PowerForm kForm>
void LaunchPowerForward(int64_t n, const float* x, float power, float scale, float shift,
                        float* y) {
  PowerForwardKernel<kForm><<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, power, scale,
                                                                              shift, y);
  cuda::CheckLaunch("PowerForwardKernel");
}

template <PowerForm kForm>
void LaunchPowerBackward(int64_t n, const float* dy, const float* x, float power, float scale,
                         float shift, float* dx) {
  PowerBackwardKernel<kForm><<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(
      n, dy, x, power, scale, shift, dx);
  cuda::CheckLaunch("PowerBackwardKernel");
}

}  // namespace

void PowerForwardGpu(PowerForm form, int64_t n, const float* x, float power, float scale,
                     float shift, float* y) {
  switch (form) {
    case PowerForm::kLinear:
      return LaunchPowerForward<PowerForm::kLinear>(n, x, power, scale, shift, y);
    case PowerForm::kSquare:
      return LaunchPowerForward<PowerForm::kSquare>(n, x, power, scale, shift, y);
    case PowerForm::kGeneral:
      return LaunchPowerForward<PowerForm::kGeneral>(n, x, power, scale, shift, y);
  }
}

void PowerBackwardGpu(PowerForm form, int64_t n, const float* dy, const float* x, float power,
                      float scale, float shift, float* dx) {
  switch (form) {
    case PowerForm::kLinear:
      return LaunchPowerBackward<PowerForm::kLinear>(n, dy, x, power, scale, shift, dx);
    case PowerForm::kSquare:
      return LaunchPowerBackward<PowerForm::kSquare>(n, dy, x, power, scale, shift, dx);
    case PowerForm::kGeneral:
      return LaunchPowerBackward<PowerForm::kGeneral>(n, dy, x, power, scale, shift, dx);
  }
}

}  // namespace cortado
