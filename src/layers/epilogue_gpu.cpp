// ApplyEpilogueGpu over the existing device primitives: two passes where the
// CPU path makes one, but each is a plain memory-bound kernel, and the
// layers it replaces (Eltwise, ReLU) cost a launch and a pass each anyway.
#include "epilogue_gpu.hpp"

#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"

namespace cortado {

// relu_layer.cu
void ReluForwardGpu(int64_t n, const float* x, float slope, float* y);

void ApplyEpilogueGpu(const Epilogue& e, int64_t count, float* y) {
  if (e.addend) gpu::Axpy(count, 1.f, e.addend->gpu_data(), y);
  if (e.relu) ReluForwardGpu(count, y, e.negative_slope, y);
}

}  // namespace cortado
#endif  // CORTADO_WITH_CUDA
