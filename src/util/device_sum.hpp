// SumGpu: the sum of n floats in device memory, for loss layers whose
// per-element terms may be negative (so gpu::Asum will not do). CUDA builds
// only; implemented in device_sum.cu.
#ifndef CORTADO_UTIL_DEVICE_SUM_HPP_
#define CORTADO_UTIL_DEVICE_SUM_HPP_

#include <cstdint>

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// Accumulates in double, like the CPU loss loops; returns to the host (it
// synchronises).
double SumGpu(int64_t n, const float* x);
#endif

}  // namespace cortado

#endif  // CORTADO_UTIL_DEVICE_SUM_HPP_
