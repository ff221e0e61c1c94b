// The random generator of each thread (SolverParameter.random_seed seeds the
// thread that builds and trains the net).
#ifndef CORTADO_RNG_HPP_
#define CORTADO_RNG_HPP_

#include <cstdint>
#include <random>

namespace cortado {

using RandomEngine = std::mt19937;

RandomEngine& GlobalRng();
void SetRandomSeed(uint64_t seed);

// Data-parallel replicas are all built with one random_seed, so generators
// seeded at set-up start alike on every replica. Where replicas must draw
// different streams (crops, mirrors, sampled windows), replica `index`
// reseeds with this; it mixes both values, so nearby seeds or indices give
// unrelated streams. Callers leave replica 0 as it was, so an unsharded run
// is unchanged.
uint32_t ReplicaSeed(uint32_t seed, int index);

void RngUniform(int64_t n, float low, float high, float* out);
void RngGaussian(int64_t n, float mean, float stddev, float* out);
void RngBernoulli(int64_t n, float p, unsigned* out);

}  // namespace cortado

#endif  // CORTADO_RNG_HPP_
