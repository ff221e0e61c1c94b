// ApplyEpilogueGpu over the existing device primitives: two passes where the
// CPU path makes one, but each is a plain memory-bound kernel, and the
// layers it replaces (Eltwise, ReLU) cost a launch and a pass each anyway.
#include "epilogue_gpu.hpp"

#ifdef CORTADO_WITH_CUDA
#include "../util/elementwise_map.hpp"
#include "cortado/math_gpu.hpp"
#include "neuron_formulas.hpp"

namespace cortado {

void ApplyEpilogueGpu(const Epilogue& e, int64_t count, float* y) {
  if (e.addend) gpu::Axpy(count, 1.f, e.addend->gpu_data(), y);
  if (e.relu) {
    ElementwiseMap(/*on_cuda=*/true, count,
                   NeuronForwardOp<ReluFormula>{y, y, ReluFormula{e.negative_slope}});
  }
}

}  // namespace cortado
#endif  // CORTADO_WITH_CUDA
