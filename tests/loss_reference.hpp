// A forward reference for loss layers: the scalar top against a naive loss
// computed by the row, plus the loss weight the layer reports.
#ifndef CORTADO_TESTS_LOSS_REFERENCE_HPP_
#define CORTADO_TESTS_LOSS_REFERENCE_HPP_

#include <cmath>
#include <functional>

#include "layer_case.hpp"

namespace cortado {
namespace testing {

inline std::function<void(Layer*, const BlobVec&, const BlobVec&)> LossReference(
    std::function<double(const BlobVec& bottom)> naive_loss, float loss_weight = 1) {
  return [naive_loss, loss_weight](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(1, top[0]->count());
    EXPECT_EQ(0, top[0]->num_axes());
    const double loss = naive_loss(bottom);
    EXPECT_NEAR(loss, top[0]->cpu_data()[0], 1e-5 * std::fmax(1.0, std::fabs(loss)));
    EXPECT_FLOAT_EQ(loss_weight, layer->loss(0));
  };
}

}  // namespace testing
}  // namespace cortado

#endif  // CORTADO_TESTS_LOSS_REFERENCE_HPP_
