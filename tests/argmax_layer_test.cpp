// Table rows and tie-breaking checks for the ArgMax layer.
#include <algorithm>
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// The k largest of `values` by (value, index) descending: ties go to the
// larger index, as BVLC's sort of (value, index) pairs does.
std::vector<std::pair<float, int>> TopK(const std::vector<float>& values, int k) {
  std::vector<std::pair<float, int>> pairs;
  for (size_t j = 0; j < values.size(); ++j) pairs.push_back({values[j], int(j)});
  std::sort(pairs.begin(), pairs.end(), [](auto& a, auto& b) {
    return a.first != b.first ? a.first > b.first : a.second > b.second;
  });
  pairs.resize(k);
  return pairs;
}

// axis < 0 means "no axis": each item is one flat vector.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> ArgMaxReference(int axis, int k,
                                                                            bool values) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    const float* x = in.cpu_data();
    if (axis < 0) {
      const int items = in.shape(0);
      const int64_t dim = in.count(1);
      std::vector<int> shape(std::max(in.num_axes(), 3), 1);
      shape[0] = items;
      shape[1] = values ? 2 : 1;
      shape[2] = k;
      ASSERT_EQ(shape, top[0]->shape());
      std::vector<float> expected;
      for (int n = 0; n < items; ++n) {
        auto best = TopK(std::vector<float>(x + n * dim, x + (n + 1) * dim), k);
        for (auto& p : best) expected.push_back(float(p.second));
        if (values) {
          for (auto& p : best) expected.push_back(p.first);
        }
      }
      ExpectBlobNear(expected, *top[0], 0);
      return;
    }
    std::vector<int> shape = in.shape();
    shape[axis] = k;
    ASSERT_EQ(shape, top[0]->shape());
    const int dim = in.shape(axis);
    const int64_t inner = in.count(axis + 1);
    std::vector<float> expected(top[0]->count());
    for (int64_t o = 0; o < in.count(0, axis); ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        std::vector<float> column;
        for (int j = 0; j < dim; ++j) column.push_back(x[(o * dim + j) * inner + i]);
        auto best = TopK(column, k);
        for (int j = 0; j < k; ++j) {
          expected[(o * k + j) * inner + i] = values ? best[j].first : float(best[j].second);
        }
      }
    }
    ExpectBlobNear(expected, *top[0], 0);
  };
}

LayerCase ArgMaxCase(const std::string& name, const std::string& params,
                     std::vector<int> shape, int axis, int k, bool values) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'argmax' type: 'ArgMax' argmax_param { " + params + " }";
  c.bottom_shapes = {shape};
  c.reference = ArgMaxReference(axis, k, values);
  c.check_gradient = false;  // forward only, as in BVLC Caffe
  return c;
}

std::vector<LayerCase> ArgMaxCases() {
  return {
      ArgMaxCase("Default", "", {4, 10}, -1, 1, false),
      ArgMaxCase("TopK", "top_k: 3", {4, 10}, -1, 3, false),
      ArgMaxCase("MaxVal", "out_max_val: true", {4, 10}, -1, 1, true),
      ArgMaxCase("MaxValTopK", "out_max_val: true top_k: 4", {3, 2, 3, 2}, -1, 4, true),
      ArgMaxCase("Axis1", "axis: 1", {2, 5, 3, 2}, 1, 1, false),
      ArgMaxCase("Axis1TopK", "axis: 1 top_k: 2", {2, 5, 3, 2}, 1, 2, false),
      ArgMaxCase("AxisMaxVal", "axis: -1 top_k: 2 out_max_val: true", {2, 3, 6}, 2, 2, true),
      ArgMaxCase("Axis0", "axis: 0", {5, 4}, 0, 1, false),
  };
}

INSTANTIATE_TEST_SUITE_P(ArgMax, LayerCaseTest, ::testing::ValuesIn(ArgMaxCases()),
                         LayerCaseName);

TEST(ArgMaxLayerTest, TiesGoToTheLargerIndex) {
  Blob x({1, 4}), y;
  const float values[] = {1, 3, 3, 0};
  std::copy(values, values + 4, x.mutable_cpu_data());
  auto layer = MakeLayer("name: 'a' type: 'ArgMax' argmax_param { top_k: 2 }");
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  EXPECT_EQ(2.f, y.cpu_data()[0]);
  EXPECT_EQ(1.f, y.cpu_data()[1]);
}

TEST(ArgMaxLayerTest, TopKLargerThanChoicesThrows) {
  Blob x({2, 3}), y;
  auto layer = MakeLayer("name: 'a' type: 'ArgMax' argmax_param { top_k: 4 }");
  EXPECT_THROW(layer->SetUp({&x}, {&y}), Error);
  auto axis = MakeLayer("name: 'a' type: 'ArgMax' argmax_param { axis: 0 top_k: 3 }");
  EXPECT_THROW(axis->SetUp({&x}, {&y}), Error);
}

TEST(ArgMaxLayerTest, BackwardThrows) {
  Blob x({2, 3}), y;
  auto layer = MakeLayer("name: 'a' type: 'ArgMax'");
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  EXPECT_THROW(layer->Backward({&y}, {true}, {&x}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
