// The oneDNN engine of Convolution and Deconvolution against the im2col +
// BLAS one (engine: CAFFE) on many window shapes, forward and both backward
// passes, plus weight changes, reshapes and the shared gradient checker.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cortado/blob.hpp"
#include "cortado/epilogue.hpp"
#include "cortado/layer.hpp"
#include "gradient_checker.hpp"
#include "layer_case.hpp"
#ifdef CORTADO_WITH_DNNL
#include "../src/layers/dnnl_convolution.hpp"
#endif

namespace cortado {
namespace testing {
namespace {

#ifdef CORTADO_WITH_DNNL

// Sets CORTADO_CONV_ENGINE for the life of the object, restoring the old
// value after.
class ScopedConvEngine {
 public:
  explicit ScopedConvEngine(const char* engine) {
    const char* old = std::getenv("CORTADO_CONV_ENGINE");
    had_old_ = old != nullptr;
    if (had_old_) old_ = old;
    setenv("CORTADO_CONV_ENGINE", engine, 1);
  }
  ~ScopedConvEngine() {
    if (had_old_) {
      setenv("CORTADO_CONV_ENGINE", old_.c_str(), 1);
    } else {
      unsetenv("CORTADO_CONV_ENGINE");
    }
  }

 private:
  bool had_old_ = false;
  std::string old_;
};

struct DnnlCase {
  std::string name;
  std::string params;  // convolution_param fields
  std::vector<int> bottom_shape;
  std::string type = "Convolution";
};

std::string Prototxt(const DnnlCase& c, bool caffe_engine) {
  return "name: 'conv' type: '" + c.type + "' convolution_param { " + c.params +
         " weight_filler { type: 'gaussian' std: 0.3 }"
         " bias_filler { type: 'gaussian' std: 0.3 }" +
         (caffe_engine ? " engine: CAFFE" : "") + " }";
}

// Sums of products accumulate in different orders in the two engines, so
// the tolerance is relative to the largest value of the reference.
void ExpectClose(const float* expected, const float* actual, int64_t count,
                 const std::string& what) {
  float scale = 1.f;
  for (int64_t i = 0; i < count; ++i) scale = std::max(scale, std::fabs(expected[i]));
  const float tolerance = 2e-5f * scale;
  int reported = 0;
  for (int64_t i = 0; i < count && reported < 5; ++i) {
    if (std::fabs(expected[i] - actual[i]) > tolerance) {
      ADD_FAILURE() << what << "[" << i << "]: im2col " << expected[i] << ", oneDNN "
                    << actual[i] << " (tolerance " << tolerance << ")";
      ++reported;
    }
  }
}

// The same convolution on both engines, with the oneDNN layer holding copies
// of the reference's parameters.
class EnginePair {
 public:
  explicit EnginePair(const DnnlCase& c) : bottom_(c.bottom_shape), dnnl_bottom_(c.bottom_shape) {
    reference_ = MakeLayer(Prototxt(c, /*caffe_engine=*/true));
    {
      ScopedConvEngine engine("dnnl");
      dnnl_ = MakeLayer(Prototxt(c, /*caffe_engine=*/false));
    }
    FillGaussian(&bottom_, 0, 1, 11);
    std::copy_n(bottom_.cpu_data(), bottom_.count(), dnnl_bottom_.mutable_cpu_data());
    reference_->SetUp({&bottom_}, {&top_});
    dnnl_->SetUp({&dnnl_bottom_}, {&dnnl_top_});
    CopyParameters();
  }

  void CopyParameters() {
    for (size_t i = 0; i < reference_->blobs().size(); ++i) {
      const Blob& from = *reference_->blobs()[i];
      std::copy_n(from.cpu_data(), from.count(), dnnl_->blobs()[i]->mutable_cpu_data());
    }
  }

  void Forward(const Epilogue* epilogue = nullptr) {
    reference_->Forward({&bottom_}, {&top_}, epilogue);
    ScopedConvEngine engine("dnnl");
    dnnl_->Forward({&dnnl_bottom_}, {&dnnl_top_}, epilogue);
  }

  void ExpectSameForward(const Epilogue* epilogue = nullptr) {
    Forward(epilogue);
    ASSERT_EQ(top_.shape(), dnnl_top_.shape());
    ExpectClose(top_.cpu_data(), dnnl_top_.cpu_data(), top_.count(), "top");
  }

  // Backward from one random top gradient, with parameter gradients starting
  // at a non-zero value both engines must add to.
  void ExpectSameBackward() {
    FillGaussian(&top_, 0, 1, 23);
    std::copy_n(top_.cpu_data(), top_.count(), top_.mutable_cpu_diff());
    std::copy_n(top_.cpu_data(), top_.count(), dnnl_top_.mutable_cpu_diff());
    for (size_t i = 0; i < reference_->blobs().size(); ++i) {
      Blob& a = *reference_->blobs()[i];
      Blob& b = *dnnl_->blobs()[i];
      std::fill_n(a.mutable_cpu_diff(), a.count(), 0.5f);
      std::fill_n(b.mutable_cpu_diff(), b.count(), 0.5f);
    }
    reference_->Backward({&top_}, {true}, {&bottom_});
    dnnl_->Backward({&dnnl_top_}, {true}, {&dnnl_bottom_});
    ExpectClose(bottom_.cpu_diff(), dnnl_bottom_.cpu_diff(), bottom_.count(), "bottom diff");
    ExpectClose(reference_->blobs()[0]->cpu_diff(), dnnl_->blobs()[0]->cpu_diff(),
                reference_->blobs()[0]->count(), "weight diff");
    if (reference_->blobs().size() > 1) {
      ExpectClose(reference_->blobs()[1]->cpu_diff(), dnnl_->blobs()[1]->cpu_diff(),
                  reference_->blobs()[1]->count(), "bias diff");
    }
  }

  void Reshape(const std::vector<int>& shape) {
    bottom_.Reshape(shape);
    dnnl_bottom_.Reshape(shape);
    FillGaussian(&bottom_, 0, 1, 31);
    std::copy_n(bottom_.cpu_data(), bottom_.count(), dnnl_bottom_.mutable_cpu_data());
    reference_->Reshape({&bottom_}, {&top_});
    dnnl_->Reshape({&dnnl_bottom_}, {&dnnl_top_});
  }

  Layer* reference() { return reference_.get(); }
  const Blob& top() const { return top_; }
  Layer* dnnl() { return dnnl_.get(); }

 private:
  Blob bottom_, top_, dnnl_bottom_, dnnl_top_;
  std::unique_ptr<Layer> reference_, dnnl_;
};

std::vector<DnnlCase> Cases() {
  return {
      {"Kernel3Pad1", "num_output: 16 kernel_size: 3 pad: 1", {2, 8, 9, 7}},
      // Caffe's floor leaves the last input column unread: oneDNN must agree.
      {"Stride2NoPad", "num_output: 6 kernel_size: 3 stride: 2", {2, 4, 9, 8}},
      {"Group4Dilation2", "num_output: 8 kernel_size: 3 dilation: 2 pad: 2 group: 4",
       {2, 8, 10, 10}},
      {"Group2ChannelMultiplier", "num_output: 8 kernel_size: 3 group: 2", {1, 4, 6, 6}},
      {"Depthwise", "num_output: 8 kernel_size: 3 pad: 1 group: 8", {2, 8, 7, 7}},
      {"OneByOneBatch1", "num_output: 32 kernel_size: 1", {1, 16, 7, 7}},
      {"OneByOneStride2", "num_output: 8 kernel_size: 1 stride: 2", {3, 16, 7, 7}},
      {"NoBias5x5", "num_output: 5 kernel_size: 5 pad: 2 bias_term: false", {2, 3, 12, 11}},
      {"Rectangular",
       "num_output: 6 kernel_h: 3 kernel_w: 1 pad_h: 1 pad_w: 0 stride_h: 2 stride_w: 1",
       {2, 6, 8, 9}},
      {"FirstLayer7x7Stride2", "num_output: 16 kernel_size: 7 stride: 2 pad: 3", {2, 3, 23, 23}},
      {"Wider", "num_output: 64 kernel_size: 3 pad: 1", {4, 32, 14, 14}},
      // Enough output positions for Winograd (WinogradIsFaster).
      {"Winograd", "num_output: 32 kernel_size: 3 pad: 1", {2, 16, 16, 16}},
      {"WinogradOddSizesNoPad", "num_output: 24 kernel_size: 3", {3, 8, 19, 13}},
      {"DeconvStride2", "num_output: 6 kernel_size: 4 stride: 2 pad: 1", {2, 8, 5, 6},
       "Deconvolution"},
      {"DeconvGroupDilation", "num_output: 4 kernel_size: 3 dilation: 2 group: 2 pad: 1",
       {2, 6, 6, 5}, "Deconvolution"},
      {"DeconvOneByOneNoBias", "num_output: 12 kernel_size: 1 bias_term: false", {1, 8, 5, 5},
       "Deconvolution"},
      {"DeconvUpsampleDepthwise", "num_output: 5 kernel_size: 4 stride: 2 group: 5",
       {2, 5, 6, 6}, "Deconvolution"},
  };
}

class DnnlConvolutionTest : public ::testing::TestWithParam<DnnlCase> {};

TEST_P(DnnlConvolutionTest, ForwardAndBackwardMatchIm2col) {
  EnginePair pair(GetParam());
  pair.ExpectSameForward();
  pair.ExpectSameBackward();
}

// The reordered weights are a cache: a solver step (or any write through
// mutable_cpu_data) must reach the next forward and backward.
TEST_P(DnnlConvolutionTest, WeightsChangedAfterForwardAreReordered) {
  EnginePair pair(GetParam());
  pair.ExpectSameForward();
  for (Layer* layer : {pair.reference(), pair.dnnl()}) {
    float* w = layer->blobs()[0]->mutable_cpu_data();
    for (int i = 0; i < layer->blobs()[0]->count(); ++i) w[i] = -2.f * w[i] + 0.1f;
  }
  pair.ExpectSameForward();
  pair.ExpectSameBackward();
}

// A new input shape rebuilds the primitives.
TEST_P(DnnlConvolutionTest, ReshapeRebuildsPrimitives) {
  EnginePair pair(GetParam());
  pair.ExpectSameForward();
  std::vector<int> shape = GetParam().bottom_shape;
  shape[0] += 1;
  shape[2] += 3;
  shape[3] += 2;
  pair.Reshape(shape);
  pair.ExpectSameForward();
  pair.ExpectSameBackward();
}

INSTANTIATE_TEST_SUITE_P(Shapes, DnnlConvolutionTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<DnnlCase>& info) {
                           return info.param.name;
                         });

// The inference fusion's epilogue (folded weights and bias, the shortcut
// sum, ReLU) runs inside oneDNN's convolution as post-ops; the im2col
// engine applies it row by row. On 1x1 (plain layout), 3x3 (blocked) and
// Winograd-sized windows, with and without the layer's own bias.
TEST(DnnlConvolutionPostOps, MatchTheIm2colEpilogue) {
  const std::vector<DnnlCase> shapes = {
      {"1x1", "num_output: 32 kernel_size: 1", {1, 16, 7, 7}},
      {"3x3", "num_output: 16 kernel_size: 3 pad: 1", {2, 8, 9, 7}},
      {"winograd", "num_output: 32 kernel_size: 3 pad: 1", {2, 16, 16, 16}},
  };
  for (const DnnlCase& shape : shapes) {
    for (const char* bias_term : {"", " bias_term: false"}) {
      DnnlCase c = shape;
      c.params += bias_term;
      EnginePair pair(c);
      Blob addend(pair.top().shape()), weights(pair.reference()->blobs()[0]->shape());
      Blob bias({pair.top().shape(1)});
      FillGaussian(&addend, 0, 1, 41);
      FillGaussian(&weights, 0, 0.3f, 43);
      FillGaussian(&bias, 0, 1, 47);
      Epilogue relu_only;
      relu_only.relu = true;
      Epilogue leaky_sum;
      leaky_sum.addend = &addend;
      leaky_sum.relu = true;
      leaky_sum.negative_slope = 0.1f;
      Epilogue folded_sum;
      folded_sum.weights = &weights;
      folded_sum.bias = &bias;
      folded_sum.addend = &addend;
      Epilogue folded_relu = folded_sum;
      folded_relu.addend = nullptr;
      folded_relu.relu = true;
      for (const Epilogue* e : {&relu_only, &leaky_sum, &folded_sum, &folded_relu}) {
        SCOPED_TRACE(shape.name + bias_term + " epilogue: addend " +
                     std::to_string(e->addend != nullptr) + ", relu " +
                     std::to_string(e->relu) + ", folded " + std::to_string(e->weights != nullptr));
        pair.ExpectSameForward(e);
      }
      // And the plain forward after them.
      pair.ExpectSameForward();
    }
  }
}

// Layers on one thread share its scratch for blocked-layout activations:
// a smaller layer after a larger one, and the larger one's backward after
// the smaller one's forward, each find only their own values.
TEST(DnnlConvolutionScratch, LayersOfDifferentSizesShareIt) {
  EnginePair small(DnnlCase{"small", "num_output: 8 kernel_size: 3 pad: 1", {1, 8, 6, 5}});
  EnginePair large(DnnlCase{"large", "num_output: 16 kernel_size: 3 pad: 1", {3, 16, 17, 19}});
  small.ExpectSameForward();
  large.ExpectSameForward();
  small.ExpectSameForward();
  large.ExpectSameBackward();
  small.ExpectSameBackward();
  large.ExpectSameForward();
}

// The finite-difference checker on the oneDNN engine directly, for the data
// and parameter gradients.
TEST(DnnlConvolutionGradient, GroupedStridedDilated) {
  ScopedConvEngine engine("dnnl");
  for (const char* type : {"Convolution", "Deconvolution"}) {
    for (const char* params :
         {"num_output: 4 kernel_size: 3 stride: 2 pad: 1 group: 2",
          "num_output: 3 kernel_size: 3 dilation: 2 pad: 1",
          "num_output: 4 kernel_size: 1 bias_term: false"}) {
      SCOPED_TRACE(std::string(type) + " " + params);
      DnnlCase c{"", params, {2, 4, 7, 6}, type};
      std::unique_ptr<Layer> layer = MakeLayer(Prototxt(c, /*caffe_engine=*/false));
      Blob bottom(c.bottom_shape), top;
      FillGaussian(&bottom, 0, 1, 5);
      layer->SetUp({&bottom}, {&top});
      CheckGradient(layer.get(), {&bottom}, {&top});
    }
  }
}

// The measured rule: oneDNN unless its channel blocks of 16 would more than
// half-fill with padding (LeNet's convolutions), and never on depthwise
// layers.
TEST(DnnlConvolutionRule, PaddingToChannelBlocksDecides) {
  auto geometry = [](int channels, int size, int kernel) {
    ConvGeometry g;
    g.channels = channels;
    g.height = g.width = size;
    g.kernel_h = g.kernel_w = kernel;
    return g;
  };
  EXPECT_FALSE(DnnlConvolutionIsFaster(64, geometry(1, 28, 5), 20, 1));     // LeNet conv1
  EXPECT_FALSE(DnnlConvolutionIsFaster(64, geometry(20, 12, 5), 50, 1));    // LeNet conv2
  EXPECT_TRUE(DnnlConvolutionIsFaster(10, geometry(24, 14, 5), 64, 1));     // GoogLeNet 4b/5x5
  EXPECT_TRUE(DnnlConvolutionIsFaster(10, geometry(3, 224, 7), 64, 1));     // an image input
  EXPECT_TRUE(DnnlConvolutionIsFaster(10, geometry(96, 27, 5), 256, 2));    // CaffeNet conv2
  EXPECT_FALSE(DnnlConvolutionIsFaster(1, geometry(32, 112, 3), 32, 32));   // depthwise
}

// Winograd for 3x3 windows of stride and dilation 1 over at least 400
// output positions per batch: ResNet-50 b1 runs it at 56x56 and 28x28, not
// at 14x14 or 7x7; batch 10 runs it everywhere.
TEST(DnnlConvolutionRule, WinogradWhereThereArePositionsEnough) {
  auto geometry = [](int size, int kernel, int stride) {
    ConvGeometry g;
    g.channels = 64;
    g.height = g.width = size;
    g.kernel_h = g.kernel_w = kernel;
    g.pad_h = g.pad_w = kernel / 2;
    g.stride_h = g.stride_w = stride;
    return g;
  };
  EXPECT_TRUE(WinogradIsFaster(1, geometry(56, 3, 1), 1));
  EXPECT_TRUE(WinogradIsFaster(1, geometry(28, 3, 1), 1));
  EXPECT_FALSE(WinogradIsFaster(1, geometry(14, 3, 1), 1));
  EXPECT_TRUE(WinogradIsFaster(10, geometry(7, 3, 1), 1));
  EXPECT_FALSE(WinogradIsFaster(10, geometry(56, 3, 2), 1));  // strided
  EXPECT_FALSE(WinogradIsFaster(10, geometry(56, 5, 1), 1));  // 5x5
  EXPECT_FALSE(WinogradIsFaster(10, geometry(56, 3, 1), 2));  // grouped
  ConvGeometry dilated = geometry(56, 3, 1);
  dilated.dilation_h = dilated.dilation_w = 2;
  EXPECT_FALSE(WinogradIsFaster(10, dilated, 1));
}

// Where the rule picks Winograd, the engine runs it if this CPU has
// oneDNN's kernels (AVX-512), and the direct algorithm otherwise.
TEST(DnnlConvolutionRule, EngineRunsWinogradWhereTheRuleSaysSo) {
  ConvGeometry g;
  g.channels = 16;
  g.height = g.width = 16;
  g.kernel_h = g.kernel_w = 3;
  g.pad_h = g.pad_w = 1;
  DnnlConvolution engine(32, 1, true, "test: ");
  engine.SetShape(1, g);
  EXPECT_FALSE(engine.winograd()) << "256 positions: direct";
  engine.SetShape(2, g);
  if (!engine.winograd()) {
    GTEST_SKIP() << "oneDNN has no Winograd convolution on this CPU (it needs AVX-512)";
  }
  g.stride_h = g.stride_w = 2;
  engine.SetShape(8, g);
  EXPECT_FALSE(engine.winograd()) << "strided: direct";
}

#else

TEST(DnnlConvolutionTest, SkippedWithoutOneDnn) {
  GTEST_SKIP() << "built without oneDNN (CORTADO_DNNL)";
}

#endif  // CORTADO_WITH_DNNL

}  // namespace
}  // namespace testing
}  // namespace cortado
