// A forward reference for element-wise layers: y[i] = f(x[i]), computed in
// double precision from the bottom, compared with the layer's top.
#ifndef CORTADO_TESTS_ELEMENTWISE_REFERENCE_HPP_
#define CORTADO_TESTS_ELEMENTWISE_REFERENCE_HPP_

#include <functional>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {

inline std::function<void(Layer*, const BlobVec&, const BlobVec&)> ElementwiseReference(
    std::function<double(double)> f, float tolerance = 1e-5f) {
  return [f, tolerance](Layer*, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
    std::vector<float> expected(bottom[0]->count());
    const float* x = bottom[0]->cpu_data();
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<float>(f(x[i]));
    ExpectBlobNear(expected, *top[0], tolerance);
  };
}

// Moves every bottom value at least `gap` away from each of `kinks`, so no
// finite-difference probe straddles a point where the layer is not smooth.
inline void KeepAwayFrom(Blob* blob, const std::vector<float>& kinks, float gap) {
  float* x = blob->mutable_cpu_data();
  for (int64_t i = 0; i < blob->count(); ++i) {
    for (float k : kinks) {
      if (x[i] > k - gap && x[i] < k + gap) x[i] = x[i] >= k ? k + 2 * gap : k - 2 * gap;
    }
  }
}

// Runs the layer with top == bottom and returns (y, dx) for the given x, dy.
inline void RunInPlace(Layer* layer, const std::vector<int>& shape,
                       const std::vector<float>& x, const std::vector<float>& dy,
                       std::vector<float>* y, std::vector<float>* dx) {
  Blob blob(shape);
  std::copy(x.begin(), x.end(), blob.mutable_cpu_data());
  BlobVec blobs = {&blob};
  layer->SetUp(blobs, blobs);
  layer->Forward(blobs, blobs);
  y->assign(blob.cpu_data(), blob.cpu_data() + blob.count());
  std::copy(dy.begin(), dy.end(), blob.mutable_cpu_diff());
  layer->Backward(blobs, {true}, blobs);
  dx->assign(blob.cpu_diff(), blob.cpu_diff() + blob.count());
}

}  // namespace testing
}  // namespace cortado

#endif  // CORTADO_TESTS_ELEMENTWISE_REFERENCE_HPP_
