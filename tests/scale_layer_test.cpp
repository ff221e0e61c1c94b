// Table rows and in-place checks for the Scale layer.
#include <string>
#include <utility>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// y = x * s[j] (+ b[j]) where j indexes the axes [axis, axis + s.num_axes())
// of x: the naive broadcast, computed from multi-indices.
std::vector<float> NaiveBroadcast(const Blob& x, const Blob& s, const Blob* b, int axis,
                                  bool multiply) {
  std::vector<float> y(x.count());
  for (int64_t i = 0; i < x.count(); ++i) {
    int64_t rest = i, j = 0, stride = 1;
    for (int a = x.num_axes() - 1; a >= 0; --a) {
      const int index = static_cast<int>(rest % x.shape(a));
      rest /= x.shape(a);
      if (a >= axis && a < axis + s.num_axes()) {
        j += index * stride;
        stride *= x.shape(a);
      }
    }
    const float v = x.cpu_data()[i];
    y[i] = multiply ? v * s.cpu_data()[j] : v + s.cpu_data()[j];
    if (b) y[i] += b->cpu_data()[j];
  }
  return y;
}

std::function<void(Layer*, const BlobVec&, const BlobVec&)> ScaleReference(
    int axis, std::vector<int> scale_shape, bool bias) {
  return [=](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
    const bool learned = bottom.size() == 1;
    ASSERT_EQ(layer->blobs().size(), size_t(learned) + size_t(bias));
    const Blob& scale = learned ? *layer->blobs()[0] : *bottom[1];
    ASSERT_EQ(scale.shape(), scale_shape);
    const Blob* b = bias ? layer->blobs().back().get() : nullptr;
    if (b) ASSERT_EQ(b->shape(), scale_shape);
    ExpectBlobNear(NaiveBroadcast(*bottom[0], scale, b, axis, true), *top[0], 1e-5f);
  };
}

LayerCase ScaleCase(const std::string& name, const std::string& params,
                    std::vector<std::vector<int>> shapes, int axis, std::vector<int> scale_shape,
                    bool bias) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'scale' type: 'Scale' scale_param { " + params + " }";
  if (shapes.size() > 1) c.prototxt += " bottom: 'x' bottom: 'factor'";
  c.bottom_shapes = std::move(shapes);
  c.reference = ScaleReference(axis, std::move(scale_shape), bias);
  return c;
}

const char* kFillers = " filler { type: 'gaussian' } bias_filler { type: 'gaussian' }";

std::vector<LayerCase> ScaleCases() {
  std::vector<LayerCase> cases;
  cases.push_back(ScaleCase("LearnedChannels", kFillers, {{2, 3, 4, 5}}, 1, {3}, false));
  cases.push_back(ScaleCase("LearnedWithBias", std::string("bias_term: true") + kFillers,
                            {{2, 3, 4, 5}}, 1, {3}, true));
  // 9 channels of 42: dx in the sums' pass, rows of five groups of eight
  // and a tail of two.
  cases.push_back(ScaleCase("LearnedWideRows", std::string("bias_term: true") + kFillers,
                            {{2, 9, 6, 7}}, 1, {9}, true));
  cases.push_back(ScaleCase("LearnedToEnd", std::string("axis: 2 num_axes: -1") + kFillers,
                            {{2, 3, 4, 5}}, 2, {4, 5}, false));
  cases.push_back(ScaleCase("LearnedScalar", std::string("num_axes: 0 bias_term: true") + kFillers,
                            {{2, 3, 4}}, 0, {}, true));
  cases.push_back(ScaleCase("LearnedAxisMinusTwo", std::string("axis: -2 num_axes: 2") + kFillers,
                            {{2, 3, 4}}, 1, {3, 4}, false));
  cases.push_back(ScaleCase("SecondBottom", "", {{2, 3, 4, 5}, {3, 4}}, 1, {3, 4}, false));
  cases.push_back(ScaleCase("SecondBottomWithBias",
                            "axis: 0 bias_term: true bias_filler { type: 'gaussian' }",
                            {{2, 3, 4}, {2}}, 0, {2}, true));
  {
    // Without a filler the factor starts at 1: the layer is the identity.
    LayerCase c = ScaleCase("DefaultFillerIsOne", "", {{2, 3, 2}}, 1, {3}, false);
    auto check = c.reference;
    c.reference = [check](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
      ExpectBlobNear({1, 1, 1}, *layer->blobs()[0], 0);
      check(layer, bottom, top);
    };
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Scale, LayerCaseTest, ::testing::ValuesIn(ScaleCases()),
                         LayerCaseName);

// In place, the input is overwritten by the output, yet the factor's
// gradient needs the input: it must match the out-of-place layer's.
TEST(ScaleInPlace, GradientsMatchOutOfPlace) {
  const std::string prototxt =
      "name: 's' type: 'Scale' scale_param { bias_term: true filler { type: 'gaussian' } "
      "bias_filler { type: 'gaussian' } }";
  // 3 channels take a separate pass for dx; 9 (rows of 20: two groups of
  // eight and a tail) take dx in the sums' pass, where in place it
  // overwrites dy row by row.
  for (const auto& [channels, inner] : {std::pair<int, int>{3, 4}, {9, 20}}) {
    SCOPED_TRACE(channels);
    auto in_place = MakeLayer(prototxt);
    auto out_of_place = MakeLayer(prototxt);
    ASSERT_NE(in_place, nullptr);
    ASSERT_NE(out_of_place, nullptr);
    const std::vector<int> shape{2, channels, inner};
    const int count = 2 * channels * inner;
    Blob a(shape), b(shape), top;
    FillGaussian(&a, 0, 1, 9);
    FillGaussian(&b, 0, 1, 9);
    in_place->SetUp({&a}, {&a});
    out_of_place->SetUp({&b}, {&top});
    for (size_t p = 0; p < 2; ++p) {
      std::copy_n(out_of_place->blobs()[p]->cpu_data(), channels,
                  in_place->blobs()[p]->mutable_cpu_data());
      std::fill_n(in_place->blobs()[p]->mutable_cpu_diff(), channels, 0.f);
      std::fill_n(out_of_place->blobs()[p]->mutable_cpu_diff(), channels, 0.f);
    }
    in_place->Forward({&a}, {&a});
    out_of_place->Forward({&b}, {&top});
    FillGaussian(&b, 0, 1, 10);  // reuse b's data as the top diff source
    std::copy_n(b.cpu_data(), count, a.mutable_cpu_diff());
    std::copy_n(b.cpu_data(), count, top.mutable_cpu_diff());
    FillGaussian(&b, 0, 1, 9);  // restore the input
    in_place->Backward({&a}, {true}, {&a});
    out_of_place->Backward({&top}, {true}, {&b});
    for (size_t p = 0; p < 2; ++p) {
      for (int i = 0; i < channels; ++i) {
        EXPECT_NEAR(in_place->blobs()[p]->cpu_diff()[i], out_of_place->blobs()[p]->cpu_diff()[i],
                    1e-5f)
            << "param " << p << " element " << i;
      }
    }
    for (int i = 0; i < count; ++i) EXPECT_NEAR(a.cpu_diff()[i], b.cpu_diff()[i], 1e-5f) << i;
  }
}

TEST(ScaleErrors, SecondBottomShapeMismatch) {
  auto layer = MakeLayer("name: 's' type: 'Scale' bottom: 'x' bottom: 'f'");
  ASSERT_NE(layer, nullptr);
  Blob x(std::vector<int>{2, 3, 4}), f(std::vector<int>{4}), top;
  try {
    layer->SetUp({&x, &f}, {&top});
    FAIL() << "mismatched factor accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'s'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
