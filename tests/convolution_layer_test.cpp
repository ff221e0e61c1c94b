// Table rows and error checks for the Convolution layer, against a naive
// seven-loop convolution.
#include <algorithm>
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

struct ConvSpec {
  int kernel_h, kernel_w;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dilation_h = 1, dilation_w = 1;
  int group = 1;
};

int OutSize(int size, int kernel, int stride, int pad, int dilation) {
  return (size + 2 * pad - (dilation * (kernel - 1) + 1)) / stride + 1;
}

// Visits every (output, weight, input) triple of the convolution; `visit`
// gets flat indices into top, weights and bottom.
template <typename Visit>
void ForEachTap(const std::vector<int>& in_shape, int num_output, const ConvSpec& s,
                Visit visit) {
  const int num = in_shape[0], channels = in_shape[1], height = in_shape[2],
            width = in_shape[3];
  const int out_h = OutSize(height, s.kernel_h, s.stride_h, s.pad_h, s.dilation_h);
  const int out_w = OutSize(width, s.kernel_w, s.stride_w, s.pad_w, s.dilation_w);
  const int in_per_group = channels / s.group, out_per_group = num_output / s.group;
  for (int n = 0; n < num; ++n) {
    for (int m = 0; m < num_output; ++m) {
      const int g = m / out_per_group;
      for (int oh = 0; oh < out_h; ++oh) {
        for (int ow = 0; ow < out_w; ++ow) {
          const int64_t y = ((int64_t(n) * num_output + m) * out_h + oh) * out_w + ow;
          for (int c = 0; c < in_per_group; ++c) {
            for (int ki = 0; ki < s.kernel_h; ++ki) {
              for (int kj = 0; kj < s.kernel_w; ++kj) {
                const int ih = oh * s.stride_h - s.pad_h + ki * s.dilation_h;
                const int iw = ow * s.stride_w - s.pad_w + kj * s.dilation_w;
                if (ih < 0 || ih >= height || iw < 0 || iw >= width) continue;
                const int64_t w = ((int64_t(m) * in_per_group + c) * s.kernel_h + ki) *
                                      s.kernel_w + kj;
                const int64_t x =
                    ((int64_t(n) * channels + g * in_per_group + c) * height + ih) * width + iw;
                visit(y, w, x);
              }
            }
          }
        }
      }
    }
  }
}

std::vector<int> TopShape(const std::vector<int>& in, int num_output, const ConvSpec& s) {
  return {in[0], num_output, OutSize(in[2], s.kernel_h, s.stride_h, s.pad_h, s.dilation_h),
          OutSize(in[3], s.kernel_w, s.stride_w, s.pad_w, s.dilation_w)};
}

std::vector<float> NaiveForward(const Blob& bottom, Layer* layer, int num_output,
                                const ConvSpec& s) {
  const std::vector<int> shape = TopShape(bottom.shape(), num_output, s);
  const int64_t spatial = int64_t(shape[2]) * shape[3];
  std::vector<float> y(int64_t(shape[0]) * num_output * spatial, 0.f);
  const float* x = bottom.cpu_data();
  const float* w = layer->blobs()[0]->cpu_data();
  ForEachTap(bottom.shape(), num_output, s,
             [&](int64_t yi, int64_t wi, int64_t xi) { y[yi] += w[wi] * x[xi]; });
  if (layer->blobs().size() > 1) {
    const float* b = layer->blobs()[1]->cpu_data();
    for (size_t i = 0; i < y.size(); ++i) y[i] += b[(i / spatial) % num_output];
  }
  return y;
}

std::function<void(Layer*, const BlobVec&, const BlobVec&)> ConvReference(
    int num_output, const ConvSpec& s) {
  return [num_output, s](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(layer->blobs()[0]->shape(),
              (std::vector<int>{num_output, bottom[0]->shape(1) / s.group, s.kernel_h,
                                s.kernel_w}));
    for (size_t i = 0; i < bottom.size(); ++i) {
      ASSERT_EQ(top[i]->shape(), TopShape(bottom[i]->shape(), num_output, s));
      ExpectBlobNear(NaiveForward(*bottom[i], layer, num_output, s), *top[i], 1e-4f);
    }
  };
}

// Forward and backward against the naive loops, for cases too large for the
// finite-difference checker.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> ConvForwardBackwardReference(
    int num_output, const ConvSpec& s) {
  return [num_output, s](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    ConvReference(num_output, s)(layer, bottom, top);
    FillGaussian(top[0], 0, 1, 77);
    // Move the random values into the diff.
    std::copy_n(top[0]->cpu_data(), top[0]->count(), top[0]->mutable_cpu_diff());
    Blob& w = *layer->blobs()[0];
    Blob& b = *layer->blobs()[1];
    std::fill_n(w.mutable_cpu_diff(), w.count(), 0.f);
    std::fill_n(b.mutable_cpu_diff(), b.count(), 0.f);
    layer->Backward(top, {true}, bottom);
    // Double accumulators: the sums run over millions of terms.
    std::vector<double> dx(bottom[0]->count(), 0.0), dw(w.count(), 0.0), db(b.count(), 0.0);
    const float* dy = top[0]->cpu_diff();
    const float* x = bottom[0]->cpu_data();
    const float* wd = w.cpu_data();
    ForEachTap(bottom[0]->shape(), num_output, s, [&](int64_t yi, int64_t wi, int64_t xi) {
      dx[xi] += dy[yi] * wd[wi];
      dw[wi] += dy[yi] * x[xi];
    });
    const int64_t spatial = top[0]->count(2);
    for (int64_t i = 0; i < top[0]->count(); ++i) db[(i / spatial) % num_output] += dy[i];
    auto expect_diff = [](const std::vector<double>& expected, const Blob& blob) {
      Blob actual(blob.shape());
      std::copy_n(blob.cpu_diff(), blob.count(), actual.mutable_cpu_data());
      ExpectBlobNear(std::vector<float>(expected.begin(), expected.end()), actual, 1e-3f);
    };
    expect_diff(dx, *bottom[0]);
    expect_diff(dw, w);
    expect_diff(db, b);
  };
}

const char* kFillers =
    " weight_filler { type: 'gaussian' std: 0.5 } bias_filler { type: 'gaussian' std: 0.5 }";

LayerCase ConvCase(const std::string& name, const std::string& params,
                   std::vector<std::vector<int>> shapes, int num_output, const ConvSpec& s) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'conv' type: 'Convolution' convolution_param { num_output: " +
               std::to_string(num_output) + " " + params + kFillers + " }";
  for (size_t i = 1; i < shapes.size(); ++i) {
    c.prototxt += " bottom: 'b" + std::to_string(i) + "'";
  }
  if (shapes.size() > 1) {
    for (size_t i = 0; i < shapes.size(); ++i) c.prototxt += " top: 't" + std::to_string(i) + "'";
  }
  c.bottom_shapes = std::move(shapes);
  c.reference = ConvReference(num_output, s);
  return c;
}

std::vector<LayerCase> ConvolutionCases() {
  std::vector<LayerCase> cases;
  cases.push_back(ConvCase("Kernel3", "kernel_size: 3", {{2, 3, 6, 5}}, 4, {3, 3}));
  {
    ConvSpec s{3, 3};
    s.stride_h = s.stride_w = 2;
    s.pad_h = s.pad_w = 1;
    cases.push_back(
        ConvCase("Stride2Pad1", "kernel_size: 3 stride: 2 pad: 1", {{2, 3, 5, 6}}, 3, s));
  }
  {
    ConvSpec s{3, 2};
    s.stride_h = 2;
    s.pad_h = 1;
    cases.push_back(ConvCase("RectangularHW",
                             "kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0",
                             {{2, 2, 6, 5}}, 3, s));
  }
  {
    ConvSpec s{2, 3};
    s.stride_h = 1;
    s.stride_w = 2;
    s.pad_h = 0;
    s.pad_w = 1;
    cases.push_back(ConvCase("RepeatedPerDim",
                             "kernel_size: 2 kernel_size: 3 stride: 1 stride: 2 pad: 0 pad: 1",
                             {{2, 2, 5, 6}}, 2, s));
  }
  {
    ConvSpec s{3, 3};
    s.dilation_h = s.dilation_w = 2;
    s.pad_h = s.pad_w = 1;
    cases.push_back(
        ConvCase("Dilation2", "kernel_size: 3 dilation: 2 pad: 1", {{2, 2, 6, 7}}, 3, s));
  }
  {
    ConvSpec s{3, 3};
    s.group = 3;
    cases.push_back(ConvCase("Group3", "kernel_size: 3 group: 3", {{2, 6, 5, 5}}, 6, s));
  }
  {
    ConvSpec s{2, 2};
    s.group = 2;
    s.stride_h = s.stride_w = 2;
    cases.push_back(
        ConvCase("Group2Stride2", "kernel_size: 2 group: 2 stride: 2", {{2, 4, 5, 5}}, 4, s));
  }
  // group == channels == num_output takes the direct depthwise kernels.
  {
    ConvSpec s{3, 3};
    s.group = 4;
    s.pad_h = s.pad_w = 1;
    cases.push_back(ConvCase("Depthwise3x3", "kernel_size: 3 pad: 1 group: 4", {{2, 4, 6, 5}},
                             4, s));
  }
  {
    ConvSpec s{3, 2};
    s.group = 3;
    s.stride_h = 2;
    s.stride_w = 3;
    s.pad_h = 2;
    s.dilation_h = s.dilation_w = 2;
    cases.push_back(ConvCase("DepthwiseStridePadDilation",
                             "kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 3 pad_h: 2 pad_w: 0 "
                             "dilation: 2 group: 3",
                             {{2, 3, 7, 8}}, 3, s));
  }
  cases.push_back(ConvCase("OneByOne", "kernel_size: 1", {{2, 3, 4, 5}}, 4, {1, 1}));
  // One image: the 1x1 path feeds the bottom straight to the GEMM.
  cases.push_back(ConvCase("OneByOneSingleImage", "kernel_size: 1", {{1, 3, 4, 5}}, 2, {1, 1}));
  cases.push_back(ConvCase("SingleImage", "kernel_size: 3 pad: 1", {{1, 2, 4, 4}}, 3,
                           [] { ConvSpec s{3, 3}; s.pad_h = s.pad_w = 1; return s; }()));
  {
    LayerCase c = ConvCase("NoBias", "kernel_size: 2 bias_term: false", {{2, 3, 4, 4}}, 3,
                           {2, 2});
    c.prototxt = "name: 'conv' type: 'Convolution' convolution_param { num_output: 3 "
                 "kernel_size: 2 bias_term: false weight_filler { type: 'gaussian' } }";
    auto check = c.reference;
    c.reference = [check](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
      ASSERT_EQ(layer->blobs().size(), 1u);
      check(layer, bottom, top);
    };
    cases.push_back(c);
  }
  cases.push_back(ConvCase("TwoBottomsShareWeights", "kernel_size: 3",
                           {{2, 2, 5, 5}, {2, 2, 5, 5}}, 2, {3, 3}));
  {
    // Images big enough that the column buffer cap splits the batch of 3
    // into a chunk of 2 and a chunk of 1.
    ConvSpec s{3, 3};
    LayerCase c = ConvCase("ChunkedBatch", "kernel_size: 3", {{3, 1, 840, 840}}, 2, s);
    c.reference = ConvForwardBackwardReference(2, s);
    c.check_gradient = false;
    cases.push_back(c);
  }
  // On a GPU the rows above take the default engine, cuDNN; these copies
  // force each engine, so CudaMatchesCpu covers the im2col + cuBLAS engine
  // on every geometry and the explicit CUDNN setting on a few. On the CPU
  // the engine field changes nothing.
  const std::vector<LayerCase> default_engine = cases;
  for (const LayerCase& base : default_engine) {
    if (base.name == "ChunkedBatch") continue;  // large; the small rows cover the engine
    const std::string field = "convolution_param { ";
    const size_t at = base.prototxt.find(field);
    EXPECT_NE(at, std::string::npos) << base.name;
    if (at == std::string::npos) continue;
    LayerCase c = base;
    c.name = base.name + "_EngineCaffe";
    c.prototxt.insert(at + field.size(), "engine: CAFFE ");
    cases.push_back(c);
    if (base.name == "Dilation2" || base.name == "Group2Stride2" ||
        base.name == "Depthwise3x3" || base.name == "TwoBottomsShareWeights") {
      c = base;
      c.name = base.name + "_EngineCudnn";
      c.prototxt.insert(at + field.size(), "engine: CUDNN ");
      cases.push_back(c);
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Convolution, LayerCaseTest, ::testing::ValuesIn(ConvolutionCases()),
                         LayerCaseName);

// N-d convolution (any number of spatial axes, channels at `axis`) against
// a direct sum over output positions, channels and kernel taps.
struct NdSpec {
  int axis;
  std::vector<int> kernel, stride, pad, dilation;
  int group = 1;
};

// Row-major odometer over `extent`; returns false after the last index.
bool Advance(const std::vector<int>& extent, std::vector<int>* index) {
  for (int a = static_cast<int>(extent.size()) - 1; a >= 0; --a) {
    if (++(*index)[a] < extent[a]) return true;
    (*index)[a] = 0;
  }
  return false;
}

std::vector<float> NaiveForwardNd(const Blob& bottom, Layer* layer, int num_output,
                                  const NdSpec& s, std::vector<int>* top_shape) {
  const std::vector<int>& in = bottom.shape();
  const int axes = static_cast<int>(s.kernel.size());
  const int num = static_cast<int>(bottom.count(0, s.axis));
  const int channels = in[s.axis];
  const std::vector<int> input(in.begin() + s.axis + 1, in.end());
  std::vector<int> output(axes);
  for (int a = 0; a < axes; ++a) {
    output[a] = OutSize(input[a], s.kernel[a], s.stride[a], s.pad[a], s.dilation[a]);
  }
  top_shape->assign(in.begin(), in.begin() + s.axis);
  top_shape->push_back(num_output);
  top_shape->insert(top_shape->end(), output.begin(), output.end());
  int64_t in_spatial = 1, out_spatial = 1, taps = 1;
  for (int a = 0; a < axes; ++a) {
    in_spatial *= input[a];
    out_spatial *= output[a];
    taps *= s.kernel[a];
  }
  const int in_per_group = channels / s.group, out_per_group = num_output / s.group;
  const float* x = bottom.cpu_data();
  const float* w = layer->blobs()[0]->cpu_data();
  const float* b = layer->blobs().size() > 1 ? layer->blobs()[1]->cpu_data() : nullptr;
  std::vector<float> y;
  for (int n = 0; n < num; ++n) {
    for (int m = 0; m < num_output; ++m) {
      const int g = m / out_per_group;
      std::vector<int> o(axes, 0);
      do {
        double sum = b ? b[m] : 0.0;
        for (int c = 0; c < in_per_group; ++c) {
          std::vector<int> k(axes, 0);
          int64_t tap = 0;
          do {
            bool inside = true;
            int64_t at = 0;
            for (int a = 0; a < axes; ++a) {
              const int i = o[a] * s.stride[a] - s.pad[a] + k[a] * s.dilation[a];
              inside = inside && i >= 0 && i < input[a];
              at = at * input[a] + i;
            }
            if (inside) {
              const int64_t xi = (int64_t(n) * channels + g * in_per_group + c) * in_spatial + at;
              sum += double(w[(int64_t(m) * in_per_group + c) * taps + tap]) * x[xi];
            }
            ++tap;
          } while (Advance(s.kernel, &k));
        }
        y.push_back(static_cast<float>(sum));
      } while (Advance(output, &o));
    }
  }
  EXPECT_EQ(int64_t(y.size()), int64_t(num) * num_output * out_spatial);
  return y;
}

LayerCase NdCase(const std::string& name, const std::string& params, std::vector<int> shape,
                 int num_output, const NdSpec& s) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'conv' type: 'Convolution' convolution_param { num_output: " +
               std::to_string(num_output) + " " + params + kFillers + " }";
  c.bottom_shapes = {std::move(shape)};
  c.reference = [num_output, s](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    std::vector<int> weight_shape{num_output, bottom[0]->shape(s.axis) / s.group};
    weight_shape.insert(weight_shape.end(), s.kernel.begin(), s.kernel.end());
    ASSERT_EQ(layer->blobs()[0]->shape(), weight_shape);
    std::vector<int> top_shape;
    const std::vector<float> expected = NaiveForwardNd(*bottom[0], layer, num_output, s, &top_shape);
    ASSERT_EQ(top[0]->shape(), top_shape);
    ExpectBlobNear(expected, *top[0], 1e-4f);
  };
  return c;
}

std::vector<LayerCase> NdConvolutionCases() {
  std::vector<LayerCase> cases;
  cases.push_back(NdCase("ThreeDKernel3", "kernel_size: 3", {2, 2, 4, 5, 5}, 3,
                         {1, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}}));
  cases.push_back(NdCase("ThreeDPerAxisStridePadDilation",
                         "kernel_size: 2 kernel_size: 3 kernel_size: 2 stride: 1 stride: 2 "
                         "stride: 1 pad: 1 pad: 0 pad: 1 dilation: 1 dilation: 1 dilation: 2",
                         {2, 2, 3, 5, 4}, 2,
                         {1, {2, 3, 2}, {1, 2, 1}, {1, 0, 1}, {1, 1, 2}}));
  cases.push_back(NdCase("ThreeDOneValueForAllAxes", "kernel_size: 2 stride: 2 pad: 1",
                         {1, 3, 3, 4, 5}, 2, {1, {2, 2, 2}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}}));
  {
    NdSpec s{1, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}};
    s.group = 2;
    cases.push_back(NdCase("ThreeDGroup2", "kernel_size: 2 group: 2", {2, 4, 3, 3, 4}, 4, s));
  }
  // A single image with a 1x1x1 kernel feeds the bottom straight to the GEMM.
  cases.push_back(NdCase("ThreeDOneByOneSingleImage", "kernel_size: 1", {1, 3, 2, 3, 4}, 2,
                         {1, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}}));
  cases.push_back(NdCase("OneD", "kernel_size: 3 stride: 2 pad: 1", {2, 3, 7}, 2,
                         {1, {3}, {2}, {1}, {1}}));
  // Channels at axis 2: the two leading axes are both batch axes.
  cases.push_back(NdCase("ThreeDAxis2", "kernel_size: 2 axis: 2", {2, 2, 3, 3, 4, 3}, 2,
                         {2, {2, 2, 2}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}}));
  cases.push_back(NdCase("TwoDAxis2", "kernel_size: 3 pad: 1 axis: 2", {2, 2, 3, 4, 5}, 2,
                         {2, {3, 3}, {1, 1}, {1, 1}, {1, 1}}));
  cases.push_back(NdCase("NegativeAxis", "kernel_size: 3 axis: -4", {2, 2, 4, 4, 4}, 2,
                         {1, {3, 3, 3}, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}}));
  // force_nd_im2col runs a 2-D convolution through the general unfolding.
  cases.push_back(NdCase("ForceNdTwoD",
                         "kernel_h: 3 kernel_w: 2 stride_h: 2 pad_w: 1 pad_h: 0 stride_w: 1 "
                         "dilation: 2 force_nd_im2col: true",
                         {2, 2, 7, 6}, 3, {1, {3, 2}, {2, 1}, {0, 1}, {2, 2}}));
  {
    // Large enough that the batch is split into several chunks.
    LayerCase c = NdCase("ThreeDChunkedBatch", "kernel_size: 3 pad: 1", {3, 2, 12, 12, 12}, 2,
                         {1, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}});
    c.check_gradient = false;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(ConvolutionNd, LayerCaseTest, ::testing::ValuesIn(NdConvolutionCases()),
                         LayerCaseName);

// A training forward keeps its column matrices for Backward, which a
// test-phase layer unfolds again. Every gradient must come out bit for bit
// the same: chunks of several images and of one, and a 1x1 layer whose last
// chunk holds one image (64 KB chunks of 32 KB images: 2, 2, 1), which is
// its own column matrix and is not saved.
TEST(ConvolutionSavedColumns, GiveTheGradientsOfUnfoldingAgain) {
  const std::string window_3x3 = "kernel_size: 3 pad: 1 stride: 2";
  const std::string window_1x1 = "kernel_size: 1";
  struct Case {
    std::string window;
    std::vector<int> shape;
  };
  for (const Case& c : {Case{window_3x3, {5, 4, 9, 7}}, Case{window_3x3, {1, 3, 40, 40}},
                        Case{window_1x1, {5, 2, 64, 64}}}) {
    const std::vector<int>& shape = c.shape;
    const std::string proto =
        "name: 'c' type: 'Convolution' convolution_param { num_output: 6 " + c.window +
        " weight_filler { type: 'gaussian' std: 0.1 } bias_filler { type: 'gaussian' "
        "std: 0.1 } }";
    auto train = MakeLayer(proto, caffe::TRAIN);
    auto test = MakeLayer(proto, caffe::TEST);
    Blob bottom_train(shape), bottom_test(shape), top_train, top_test;
    FillGaussian(&bottom_train, 0, 1, 3);
    std::copy_n(bottom_train.cpu_data(), bottom_train.count(), bottom_test.mutable_cpu_data());
    train->SetUp({&bottom_train}, {&top_train});
    test->SetUp({&bottom_test}, {&top_test});
    for (size_t i = 0; i < train->blobs().size(); ++i) {
      Blob& from = *train->blobs()[i];
      Blob& to = *test->blobs()[i];
      std::copy_n(from.cpu_data(), from.count(), to.mutable_cpu_data());
      std::fill_n(from.mutable_cpu_diff(), from.count(), 0.f);
      std::fill_n(to.mutable_cpu_diff(), to.count(), 0.f);
    }
    train->Forward({&bottom_train}, {&top_train});
    test->Forward({&bottom_test}, {&top_test});
    FillGaussian(&top_train, 0, 1, 5);
    std::copy_n(top_train.cpu_data(), top_train.count(), top_train.mutable_cpu_diff());
    std::copy_n(top_train.cpu_data(), top_train.count(), top_test.mutable_cpu_diff());
    train->Backward({&top_train}, {true}, {&bottom_train});
    test->Backward({&top_test}, {true}, {&bottom_test});
    auto same = [](const float* a, const float* b, int64_t n) {
      return std::equal(a, a + n, b);
    };
    for (size_t i = 0; i < train->blobs().size(); ++i) {
      EXPECT_TRUE(same(train->blobs()[i]->cpu_diff(), test->blobs()[i]->cpu_diff(),
                       train->blobs()[i]->count()))
          << "parameter " << i << " of " << c.window << ", batch of " << shape[0];
    }
    EXPECT_TRUE(same(bottom_train.cpu_diff(), bottom_test.cpu_diff(), bottom_train.count()))
        << "bottom diff of " << c.window << ", batch of " << shape[0];
  }
}

// Sets the layer up on one bottom of `shape`, runs it, and returns the
// error text. A kernel larger than the input is reported by Forward: set-up
// accepts it, as Caffe does for placeholder inputs reshaped before use.
std::string SetUpError(const std::string& prototxt, const std::vector<int>& shape) {
  auto layer = MakeLayer(prototxt);
  if (!layer) return "no layer";
  Blob bottom(shape), top;
  try {
    layer->SetUp({&bottom}, {&top});
    layer->Forward({&bottom}, {&top});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConvolutionErrors, MissingKernelSize) {
  const std::string error = SetUpError(
      "name: 'c1' type: 'Convolution' convolution_param { num_output: 2 }", {1, 1, 4, 4});
  EXPECT_NE(error.find("'c1'"), std::string::npos) << error;
  EXPECT_NE(error.find("kernel_size"), std::string::npos) << error;
}

TEST(ConvolutionErrors, KernelLargerThanInput) {
  const std::string error = SetUpError(
      "name: 'big' type: 'Convolution' convolution_param { num_output: 2 kernel_size: 5 }",
      {1, 1, 4, 4});
  EXPECT_NE(error.find("'big'"), std::string::npos) << error;
  EXPECT_NE(error.find("1 1 4 4"), std::string::npos) << error;
}

TEST(ConvolutionErrors, ChannelsNotDivisibleByGroup) {
  const std::string error = SetUpError(
      "name: 'g' type: 'Convolution' convolution_param { num_output: 4 kernel_size: 1 "
      "group: 2 }",
      {1, 3, 4, 4});
  EXPECT_NE(error.find("group"), std::string::npos) << error;
  EXPECT_NE(error.find("3"), std::string::npos) << error;
}

TEST(ConvolutionErrors, KernelSizeAndKernelHBothGiven) {
  const std::string error = SetUpError(
      "name: 'k' type: 'Convolution' convolution_param { num_output: 1 kernel_size: 3 "
      "kernel_h: 3 kernel_w: 3 }",
      {1, 1, 4, 4});
  EXPECT_NE(error.find("not both"), std::string::npos) << error;
}

TEST(ConvolutionErrors, PreloadedWeightsOfWrongShape) {
  std::string blob = "blobs { shape { dim: 2 dim: 1 dim: 2 dim: 2 }";
  for (int i = 0; i < 8; ++i) blob += " data: 0.5";
  const std::string error = SetUpError(
      "name: 'w' type: 'Convolution' convolution_param { num_output: 2 kernel_size: 3 "
      "bias_term: false } " + blob + " }",
      {1, 1, 4, 4});
  EXPECT_NE(error.find("weights have shape"), std::string::npos) << error;
}

TEST(ConvolutionErrors, NdKernelSizeCountMismatch) {
  const std::string error = SetUpError(
      "name: 'c3' type: 'Convolution' convolution_param { num_output: 1 kernel_size: 2 "
      "kernel_size: 3 }",
      {1, 1, 4, 4, 4});
  EXPECT_NE(error.find("'c3'"), std::string::npos) << error;
  EXPECT_NE(error.find("kernel_size has 2 values; a 3-D window takes 1 or 3"), std::string::npos)
      << error;
}

TEST(ConvolutionErrors, NdRejectsHeightWidthFields) {
  const std::string error = SetUpError(
      "name: 'c3' type: 'Convolution' convolution_param { num_output: 1 kernel_h: 2 "
      "kernel_w: 2 }",
      {1, 1, 4, 4, 4});
  EXPECT_NE(error.find("2-D only"), std::string::npos) << error;
}

TEST(ConvolutionErrors, NdKernelLargerThanInput) {
  const std::string error = SetUpError(
      "name: 'c3' type: 'Convolution' convolution_param { num_output: 1 kernel_size: 3 }",
      {1, 1, 4, 2, 4});
  EXPECT_NE(error.find("spatial axis 1"), std::string::npos) << error;
  EXPECT_NE(error.find("1 1 4 2 4"), std::string::npos) << error;
}

TEST(ConvolutionErrors, NoSpatialAxis) {
  const std::string error = SetUpError(
      "name: 'c0' type: 'Convolution' convolution_param { num_output: 1 kernel_size: 1 }",
      {2, 3});
  EXPECT_NE(error.find("no spatial axis"), std::string::npos) << error;
}

}  // namespace
}  // namespace testing
}  // namespace cortado

