// Table rows and selector checks for the Filter layer.
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Selector: item n passes when `pattern[n % pattern.size()]` is non-zero.
std::function<void(const BlobVec&)> FillWithSelector(std::vector<float> pattern) {
  return [pattern](const BlobVec& bottom) {
    for (size_t b = 0; b + 1 < bottom.size(); ++b) FillGaussian(bottom[b], 0, 1, 37 + b);
    float* s = bottom.back()->mutable_cpu_data();
    for (int64_t n = 0; n < bottom.back()->count(); ++n) s[n] = pattern[n % pattern.size()];
  };
}

void FilterReference(Layer*, const BlobVec& bottom, const BlobVec& top) {
  const Blob& selector = *bottom.back();
  ASSERT_EQ(bottom.size() - 1, top.size());
  for (size_t b = 0; b + 1 < bottom.size(); ++b) {
    const int64_t item = bottom[b]->count(1);
    std::vector<float> expected;
    int kept = 0;
    for (int n = 0; n < selector.shape(0); ++n) {
      if (selector.cpu_data()[n] == 0) continue;
      ++kept;
      const float* x = bottom[b]->cpu_data() + n * item;
      expected.insert(expected.end(), x, x + item);
    }
    std::vector<int> shape = bottom[b]->shape();
    shape[0] = kept;
    ASSERT_EQ(shape, top[b]->shape()) << "top " << b;
    ExpectBlobNear(expected, *top[b], 0);
  }
}

LayerCase FilterCase(const std::string& name, std::vector<std::vector<int>> shapes,
                     std::vector<float> pattern) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'filter' type: 'Filter'";
  for (size_t b = 0; b + 1 < shapes.size(); ++b) c.prototxt += " top: 't" + std::to_string(b) + "'";
  c.bottom_shapes = shapes;
  c.fill = FillWithSelector(pattern);
  c.reference = FilterReference;
  for (size_t b = 0; b + 1 < shapes.size(); ++b) c.bottoms_to_check.push_back(int(b));
  return c;
}

std::vector<LayerCase> FilterCases() {
  return {
      FilterCase("OneBottom", {{6, 3, 2}, {6}}, {1, 0, 0}),
      FilterCase("TwoBottoms", {{5, 3, 2, 2}, {5, 4}, {5, 1, 1, 1}}, {1, 0, 2, 1}),
      FilterCase("AllPass", {{4, 3}, {4, 1}}, {1}),
  };
}

INSTANTIATE_TEST_SUITE_P(Filter, LayerCaseTest, ::testing::ValuesIn(FilterCases()),
                         LayerCaseName);

TEST(FilterLayerTest, SetUpPlansForTheWholeBatchThenForwardSelects) {
  Blob x({4, 2}), selector({4}), y;
  auto layer = MakeLayer("name: 'f' type: 'Filter'");
  layer->SetUp({&x, &selector}, {&y});
  EXPECT_EQ(4, y.shape(0));
  selector.mutable_cpu_data()[2] = 1;
  layer->Forward({&x, &selector}, {&y});
  EXPECT_EQ((std::vector<int>{1, 2}), y.shape());
  // Nothing selected: an empty top, and an all-zero gradient.
  selector.mutable_cpu_data()[2] = 0;
  layer->Forward({&x, &selector}, {&y});
  EXPECT_EQ(0, y.count());
  std::fill_n(x.mutable_cpu_diff(), 8, 5.f);
  layer->Backward({&y}, {true, false}, {&x, &selector});
  for (int i = 0; i < 8; ++i) EXPECT_EQ(0.f, x.cpu_diff()[i]);
}

TEST(FilterLayerTest, BadBlobsThrow) {
  Blob x({4, 2}), selector({3}), wide({4, 2}), y, z;
  auto mismatch = MakeLayer("name: 'f' type: 'Filter'");
  EXPECT_THROW(mismatch->SetUp({&x, &selector}, {&y}), Error);
  auto wide_selector = MakeLayer("name: 'f' type: 'Filter'");
  EXPECT_THROW(wide_selector->SetUp({&x, &wide}, {&y}), Error);
  Blob good({4});
  auto tops = MakeLayer("name: 'f' type: 'Filter'");
  EXPECT_THROW(tops->SetUp({&x, &good}, {&y, &z}), Error);
  auto selector_gradient = MakeLayer("name: 'f' type: 'Filter' bottom: 'x' bottom: 's'");
  EXPECT_FALSE(selector_gradient->AllowForceBackward(1));
  EXPECT_TRUE(selector_gradient->AllowForceBackward(0));
  selector_gradient->SetUp({&x, &good}, {&y});
  selector_gradient->Forward({&x, &good}, {&y});
  EXPECT_THROW(selector_gradient->Backward({&y}, {true, true}, {&x, &good}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
