// CUDA kernels for the solvers' update rules (update_rules.hpp).
#include "cortado/cuda.hpp"
#include "update_rules.hpp"

namespace cortado {
namespace {

template <typename Rule>
__global__ void ApplyRuleKernel(int64_t n, Rule rule, float* g, float* h0, float* h1) {
  CORTADO_KERNEL_LOOP(i, n) { rule(g[i], h0[i], h1[i]); }
}

template <typename Rule>
void Launch(int64_t n, const Rule& rule, float* g, float* h0, float* h1) {
  if (n <= 0) return;
  ApplyRuleKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, rule, g, h0, h1);
  cuda::CheckLaunch("ApplyRuleKernel");
}

__global__ void RegularizeL1Kernel(int64_t n, float decay, const float* data, float* diff) {
  CORTADO_KERNEL_LOOP(i, n) { diff[i] += L1Decay(data[i], decay); }
}

}  // namespace

void ApplyRuleGpu(int64_t n, const SgdRule& r, float* g, float* h0, float* h1) {
  Launch(n, r, g, h0, h1);
}
void ApplyRuleGpu(int64_t n, const NesterovRule& r, float* g, float* h0, float* h1) {
  Launch(n, r, g, h0, h1);
}
void ApplyRuleGpu(int64_t n, const AdaGradRule& r, float* g, float* h0, float* h1) {
  Launch(n, r, g, h0, h1);
}
void ApplyRuleGpu(int64_t n, const RmsPropRule& r, float* g, float* h0, float* h1) {
  Launch(n, r, g, h0, h1);
}
void ApplyRuleGpu(int64_t n, const AdaDeltaRule& r, float* g, float* h0, float* h1) {
  Launch(n, r, g, h0, h1);
}
void ApplyRuleGpu(int64_t n, const AdamRule& r, float* g, float* h0, float* h1) {
  Launch(n, r, g, h0, h1);
}

void RegularizeL1Gpu(int64_t n, float decay, const float* data, float* diff) {
  if (n <= 0) return;
  RegularizeL1Kernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, decay, data, diff);
  cuda::CheckLaunch("RegularizeL1Kernel");
}

}  // namespace cortado
