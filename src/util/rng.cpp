// The process-wide random engine and the distributions layers draw from.
#include "cortado/rng.hpp"

namespace cortado {

RandomEngine& GlobalRng() {
  // One per thread: replicas training on their own threads (one per GPU)
  // draw their own streams, without a data race on a shared engine.
  thread_local RandomEngine engine(std::random_device{}());
  return engine;
}

void SetRandomSeed(uint64_t seed) { GlobalRng().seed(static_cast<RandomEngine::result_type>(seed)); }

uint32_t ReplicaSeed(uint32_t seed, int index) {
  std::seed_seq mix{seed, static_cast<uint32_t>(index)};
  uint32_t out = 0;
  mix.generate(&out, &out + 1);
  return out;
}

void RngUniform(int64_t n, float low, float high, float* out) {
  std::uniform_real_distribution<float> dist(low, high);
  for (int64_t i = 0; i < n; ++i) out[i] = dist(GlobalRng());
}

void RngGaussian(int64_t n, float mean, float stddev, float* out) {
  std::normal_distribution<float> dist(mean, stddev);
  for (int64_t i = 0; i < n; ++i) out[i] = dist(GlobalRng());
}

void RngBernoulli(int64_t n, float p, unsigned* out) {
  std::bernoulli_distribution dist(p);
  for (int64_t i = 0; i < n; ++i) out[i] = dist(GlobalRng()) ? 1u : 0u;
}

}  // namespace cortado
