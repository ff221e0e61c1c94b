// Finite-difference gradient checking shared by all layer tests.
#include "gradient_checker.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "cortado/rng.hpp"

namespace cortado {
namespace testing {
namespace {

constexpr uint64_t kForwardSeed = 1234;

// E = sum_k <r_k, top_k>, evaluated after a deterministic forward.
double Objective(Layer* layer, const BlobVec& bottom, const BlobVec& top,
                 const std::vector<std::vector<float>>& weights) {
  SetRandomSeed(kForwardSeed);
  layer->Forward(bottom, top);
  double e = 0;
  for (size_t k = 0; k < top.size(); ++k) {
    const float* data = top[k]->cpu_data();
    for (int64_t j = 0; j < top[k]->count(); ++j) e += double(weights[k][j]) * data[j];
  }
  return e;
}

std::vector<int64_t> SampleIndices(int64_t count, const GradientCheckOptions& options,
                                   std::mt19937* rng) {
  std::vector<int64_t> indices(count);
  std::iota(indices.begin(), indices.end(), 0);
  const char* env = std::getenv("CORTADO_EXHAUSTIVE_GRADIENTS");
  bool exhaustive = options.exhaustive || (env && std::string(env) == "1");
  if (!exhaustive && count > options.samples_per_blob) {
    std::shuffle(indices.begin(), indices.end(), *rng);
    indices.resize(options.samples_per_blob);
  }
  return indices;
}

}  // namespace

void CheckGradient(Layer* layer, const BlobVec& bottom, const BlobVec& top,
                   const GradientCheckOptions& options,
                   const std::vector<int>& bottoms_to_check) {
  std::mt19937 rng(options.seed);
  SetRandomSeed(kForwardSeed);
  layer->Forward(bottom, top);
  std::vector<std::vector<float>> weights(top.size());
  std::normal_distribution<float> normal(0.f, 1.f);
  for (size_t k = 0; k < top.size(); ++k) {
    weights[k].resize(top[k]->count());
    for (float& w : weights[k]) w = normal(rng);
  }

  // Analytic gradients: top diff = r, one backward pass.
  std::vector<bool> propagate_down(bottom.size(),
                                   bottoms_to_check.empty() && options.check_bottoms);
  if (options.check_bottoms) {
    for (int i : bottoms_to_check) propagate_down[i] = true;
  }
  // Bottom diffs are cleared before the top diffs are seeded: a view layer
  // (Reshape, Flatten) shares one diff between its top and bottom.
  for (size_t i = 0; i < bottom.size(); ++i) {
    std::fill_n(bottom[i]->mutable_cpu_diff(), bottom[i]->count(), 0.f);
  }
  for (auto& blob : layer->blobs()) {
    std::fill_n(blob->mutable_cpu_diff(), blob->count(), 0.f);
  }
  for (size_t k = 0; k < top.size(); ++k) {
    std::copy(weights[k].begin(), weights[k].end(), top[k]->mutable_cpu_diff());
  }
  layer->Backward(top, propagate_down, bottom);

  struct Checked {
    Blob* blob;
    std::string label;
    std::vector<float> analytic;
    bool is_bottom;
  };
  std::vector<Checked> checked;
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (!propagate_down[i]) continue;
    const float* diff = bottom[i]->cpu_diff();
    checked.push_back({bottom[i], "bottom " + std::to_string(i),
                       std::vector<float>(diff, diff + bottom[i]->count()), true});
  }
  for (size_t p = 0; p < layer->blobs().size(); ++p) {
    if (!layer->param_propagate_down(p)) continue;
    Blob* blob = layer->blobs()[p].get();
    const float* diff = blob->cpu_diff();
    checked.push_back({blob, "param " + std::to_string(p),
                       std::vector<float>(diff, diff + blob->count()), false});
  }

  for (Checked& c : checked) {
    for (int64_t j : SampleIndices(c.blob->count(), options, &rng)) {
      float* x = c.blob->mutable_cpu_data() + j;
      const float original = *x;
      if (c.is_bottom && options.kink_range > 0 &&
          std::fabs(original - options.kink) < options.kink_range) {
        continue;
      }
      *x = original + options.stepsize;
      double plus = Objective(layer, bottom, top, weights);
      x = c.blob->mutable_cpu_data() + j;
      *x = original - options.stepsize;
      double minus = Objective(layer, bottom, top, weights);
      x = c.blob->mutable_cpu_data() + j;
      *x = original;
      double numeric = (plus - minus) / (2.0 * options.stepsize);
      double analytic = c.analytic[j];
      double scale = std::max({std::fabs(analytic), std::fabs(numeric), 1.0});
      EXPECT_NEAR(analytic, numeric, options.threshold * scale)
          << layer->type() << " '" << layer->name() << "' " << c.label
          << " element " << j << " (x = " << original << ")";
    }
  }
}

}  // namespace testing
}  // namespace cortado
