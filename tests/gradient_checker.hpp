// The one finite-difference gradient checker every layer test uses.
#ifndef CORTADO_TESTS_GRADIENT_CHECKER_HPP_
#define CORTADO_TESTS_GRADIENT_CHECKER_HPP_

#include <vector>

#include "cortado/layer.hpp"

namespace cortado {
namespace testing {

struct GradientCheckOptions {
  float stepsize = 1e-2f;
  // Allowed |analytic - numeric| relative to max(|analytic|, |numeric|, 1).
  float threshold = 1e-2f;
  // Elements within kink_range of kink (in the layer's input) are skipped:
  // the function is not differentiable there (ReLU at 0, max ties...).
  float kink = 0;
  float kink_range = -1;
  // Elements checked per blob; all of them when exhaustive (or when the
  // environment sets CORTADO_EXHAUSTIVE_GRADIENTS=1).
  int samples_per_blob = 60;
  bool exhaustive = false;
  unsigned seed = 1701;
  // False checks only parameter gradients: for layers whose bottoms are
  // integer indices (Embed), where a finite difference means nothing.
  bool check_bottoms = true;
};

// Checks d(E)/d(bottom[i]) for i in bottoms_to_check (all if empty) and
// d(E)/d(param) for every parameter blob, where E = sum_k <r_k, top_k> with
// fixed random r_k. The global RNG is reseeded before every forward so
// stochastic layers (Dropout) are deterministic. Reports failures through
// gtest's EXPECT macros, naming blob, element and both values.
void CheckGradient(Layer* layer, const BlobVec& bottom, const BlobVec& top,
                   const GradientCheckOptions& options = {},
                   const std::vector<int>& bottoms_to_check = {});

}  // namespace testing
}  // namespace cortado

#endif  // CORTADO_TESTS_GRADIENT_CHECKER_HPP_
