// The process-wide random generator, seeded by SolverParameter.random_seed.
#ifndef CORTADO_RNG_HPP_
#define CORTADO_RNG_HPP_

#include <cstdint>
#include <random>

namespace cortado {

using RandomEngine = std::mt19937;

RandomEngine& GlobalRng();
void SetRandomSeed(uint64_t seed);

void RngUniform(int64_t n, float low, float high, float* out);
void RngGaussian(int64_t n, float mean, float stddev, float* out);
void RngBernoulli(int64_t n, float p, unsigned* out);

}  // namespace cortado

#endif  // CORTADO_RNG_HPP_
