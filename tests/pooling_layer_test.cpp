// Table rows and shape/error checks for the Pooling layer.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cortado/io.hpp"
#include "cortado/layer.hpp"
#include "cortado/net.hpp"
#include "cortado/rng.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

struct PoolSpec {
  bool max = true;
  int kernel_h, kernel_w;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  bool ceil = true;
  bool global = false;
};

// Caffe's rule, written from its definition: round the window count, then
// (when the input is padded at all) drop a last window that would start
// past the input and its bottom/right padding.
int PooledSize(int size, int kernel, int stride, int pad, bool ceil, bool any_pad) {
  const double span = double(size + 2 * pad - kernel) / stride;
  int out = static_cast<int>(ceil ? std::ceil(span) : std::floor(span)) + 1;
  if (any_pad && (out - 1) * stride >= size + pad) --out;
  return out;
}

// Naive pooling; the mask holds the flat in-plane index of each maximum.
void NaivePool(const Blob& bottom, PoolSpec s, std::vector<float>* out,
               std::vector<float>* mask, std::vector<int>* shape) {
  const int num = bottom.shape(0), channels = bottom.shape(1);
  const int height = bottom.shape(2), width = bottom.shape(3);
  if (s.global) {
    s.kernel_h = height;
    s.kernel_w = width;
  }
  const bool any_pad = s.pad_h > 0 || s.pad_w > 0;
  const int ph_count = PooledSize(height, s.kernel_h, s.stride_h, s.pad_h, s.ceil, any_pad);
  const int pw_count = PooledSize(width, s.kernel_w, s.stride_w, s.pad_w, s.ceil, any_pad);
  *shape = {num, channels, ph_count, pw_count};
  out->clear();
  mask->clear();
  const float* x = bottom.cpu_data();
  for (int n = 0; n < num; ++n) {
    for (int c = 0; c < channels; ++c) {
      const float* plane = x + (int64_t(n) * channels + c) * height * width;
      for (int ph = 0; ph < ph_count; ++ph) {
        for (int pw = 0; pw < pw_count; ++pw) {
          const int top = ph * s.stride_h - s.pad_h, left = pw * s.stride_w - s.pad_w;
          // The AVE divisor counts padding but not what lies past it.
          const int divisor_h = std::min(top + s.kernel_h, height + s.pad_h) - top;
          const int divisor_w = std::min(left + s.kernel_w, width + s.pad_w) - left;
          float best = -FLT_MAX, sum = 0;
          int best_index = -1;
          for (int h = top; h < top + s.kernel_h; ++h) {
            for (int w = left; w < left + s.kernel_w; ++w) {
              if (h < 0 || h >= height || w < 0 || w >= width) continue;
              const float v = plane[h * width + w];
              sum += v;
              if (v > best) {
                best = v;
                best_index = h * width + w;
              }
            }
          }
          out->push_back(s.max ? best : sum / (divisor_h * divisor_w));
          mask->push_back(static_cast<float>(best_index));
        }
      }
    }
  }
}

std::function<void(Layer*, const BlobVec&, const BlobVec&)> PoolReference(
    const PoolSpec& s, std::vector<int> expected_shape) {
  return [s, expected_shape](Layer*, const BlobVec& bottom, const BlobVec& top) {
    std::vector<float> out, mask;
    std::vector<int> shape;
    NaivePool(*bottom[0], s, &out, &mask, &shape);
    // The hand-computed shape guards the rounding rule itself.
    ASSERT_EQ(shape, expected_shape);
    ASSERT_EQ(top[0]->shape(), expected_shape);
    ExpectBlobNear(out, *top[0], 1e-5f);
    if (top.size() > 1) {
      ASSERT_EQ(top[1]->shape(), expected_shape);
      ExpectBlobNear(mask, *top[1], 0);
    }
  };
}

// Distinct values at least 0.05 apart in random order, so a finite
// difference step of 0.01 never changes which element is the maximum.
void FillDistinct(const BlobVec& bottom) {
  for (size_t b = 0; b < bottom.size(); ++b) {
    std::vector<int> order(bottom[b]->count());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(17 + b));
    float* data = bottom[b]->mutable_cpu_data();
    for (size_t i = 0; i < order.size(); ++i) data[i] = 0.05f * order[i] - 3.f;
  }
}

LayerCase PoolCase(const std::string& name, const std::string& params, const PoolSpec& s,
                   std::vector<int> bottom_shape, std::vector<int> expected_shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'pool' type: 'Pooling' pooling_param { pool: " +
               std::string(s.max ? "MAX" : "AVE") + " " + params + " }";
  c.bottom_shapes = {std::move(bottom_shape)};
  c.reference = PoolReference(s, std::move(expected_shape));
  if (s.max) c.fill = FillDistinct;
  return c;
}

// Naive STOCHASTIC pooling without padding: in training the first element
// whose running sum reaches u * (window sum), u drawn per output from the
// global RNG as the layer draws them (Instantiate seeds it with 4321 and
// Pooling's set-up draws nothing); in testing sum(x^2) / sum(x).
std::function<void(Layer*, const BlobVec&, const BlobVec&)> StochasticReference(
    int kernel, int stride, bool train, std::vector<int> expected_shape) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), expected_shape);
    const int height = bottom[0]->shape(2), width = bottom[0]->shape(3);
    const int pooled_h = expected_shape[2], pooled_w = expected_shape[3];
    std::vector<float> uniform(top[0]->count());
    SetRandomSeed(4321);
    RngUniform(top[0]->count(), 0.f, 1.f, uniform.data());
    std::vector<float> expected;
    for (int64_t plane = 0; plane < int64_t(expected_shape[0]) * expected_shape[1]; ++plane) {
      const float* x = bottom[0]->cpu_data() + plane * height * width;
      for (int ph = 0; ph < pooled_h; ++ph) {
        for (int pw = 0; pw < pooled_w; ++pw) {
          const int h1 = std::min(ph * stride + kernel, height);
          const int w1 = std::min(pw * stride + kernel, width);
          float sum = 0, squares = 0;
          for (int h = ph * stride; h < h1; ++h) {
            for (int w = pw * stride; w < w1; ++w) {
              sum += x[h * width + w];
              squares += x[h * width + w] * x[h * width + w];
            }
          }
          if (!train) {
            expected.push_back(squares / sum);
            continue;
          }
          const float threshold = uniform[expected.size()] * sum;
          float running = 0, pick = x[(h1 - 1) * width + w1 - 1];
          bool found = false;
          for (int h = ph * stride; h < h1 && !found; ++h) {
            for (int w = pw * stride; w < w1 && !found; ++w) {
              running += x[h * width + w];
              if (running >= threshold) {
                pick = x[h * width + w];
                found = true;
              }
            }
          }
          expected.push_back(pick);
        }
      }
    }
    ExpectBlobNear(expected, *top[0], 1e-5f);
  };
}

// Positive values, as after a ReLU: STOCHASTIC pooling's probabilities.
void FillPositive(const BlobVec& bottom) { FillUniform(bottom[0], 0.1f, 1.f, 23); }

std::vector<LayerCase> PoolingCases() {
  std::vector<LayerCase> cases;
  PoolSpec max2{true, 2, 2, 2, 2};
  cases.push_back(PoolCase("Max2x2Stride2", "kernel_size: 2 stride: 2", max2, {2, 3, 6, 6},
                           {2, 3, 3, 3}));
  // 9 windows a row: two groups of four in vector registers and one alone.
  cases.push_back(PoolCase("Max2x2Stride2Wide", "kernel_size: 2 stride: 2", max2, {2, 3, 4, 18},
                           {2, 3, 2, 9}));
  PoolSpec max2_floor = max2;
  max2_floor.ceil = false;
  // The last row and column of a 7x7 input lie in no window.
  cases.push_back(PoolCase("Max2x2Stride2FloorOdd", "kernel_size: 2 stride: 2 round_mode: FLOOR",
                           max2_floor, {2, 3, 7, 7}, {2, 3, 3, 3}));
  PoolSpec max3{true, 3, 3, 2, 2};
  // 6 wide: (6 - 3) / 2 = 1.5 rounds up, so the last window hangs off the edge.
  cases.push_back(PoolCase("Max3x3Stride2Ceil", "kernel_size: 3 stride: 2", max3,
                           {2, 3, 6, 5}, {2, 3, 3, 2}));
  PoolSpec max3_floor = max3;
  max3_floor.ceil = false;
  cases.push_back(PoolCase("Max3x3Stride2Floor", "kernel_size: 3 stride: 2 round_mode: FLOOR",
                           max3_floor, {2, 3, 6, 5}, {2, 3, 2, 2}));
  cases.push_back(PoolCase("CeilModeFalse", "kernel_size: 3 stride: 2 ceil_mode: false",
                           max3_floor, {2, 3, 6, 5}, {2, 3, 2, 2}));
  cases.push_back(PoolCase("CeilModeTrueOverridesFloor",
                           "kernel_size: 3 stride: 2 round_mode: FLOOR ceil_mode: true", max3,
                           {2, 3, 6, 5}, {2, 3, 3, 2}));
  PoolSpec max_pad = max3;
  max_pad.pad_h = max_pad.pad_w = 1;
  cases.push_back(PoolCase("MaxPad1", "kernel_size: 3 stride: 2 pad: 1", max_pad,
                           {2, 3, 5, 6}, {2, 3, 3, 4}));
  // (3 + 4 - 3) / 3 rounds up to 2, giving 3 windows; the third would start
  // at 6 - 2 = 4 >= 3 + 2, inside the padding, so it is dropped.
  PoolSpec max_drop{true, 3, 3, 3, 3, 2, 2};
  cases.push_back(PoolCase("MaxDropsWindowInPadding", "kernel_size: 3 stride: 3 pad: 2",
                           max_drop, {1, 2, 3, 3}, {1, 2, 2, 2}));
  PoolSpec max_rect{true, 3, 2, 1, 2, 1, 0};
  {
    LayerCase c = PoolCase("MaxRectangularWithMask",
                           "kernel_h: 3 kernel_w: 2 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 0",
                           max_rect, {2, 2, 5, 6}, {2, 2, 5, 3});
    c.prototxt += " top: 'pooled' top: 'mask'";
    cases.push_back(c);
  }
  // Caffe drops a window starting past the input on both axes as soon as
  // either axis is padded: here the width has no pad, stride 3 > kernel 1,
  // and the third column window would start at 6 >= 5.
  PoolSpec ave_one_pad{false, 2, 1, 1, 3, 1, 0};
  cases.push_back(PoolCase("AvePadOnOneAxisTrimsBoth",
                           "kernel_h: 2 kernel_w: 1 stride_h: 1 stride_w: 3 pad_h: 1 pad_w: 0",
                           ave_one_pad, {1, 2, 3, 5}, {1, 2, 4, 2}));
  PoolSpec ave3{false, 3, 3, 2, 2, 1, 1};
  cases.push_back(PoolCase("Ave3x3Stride2Pad1", "kernel_size: 3 stride: 2 pad: 1", ave3,
                           {2, 3, 5, 5}, {2, 3, 3, 3}));
  PoolSpec ave2{false, 2, 2, 2, 2};
  cases.push_back(PoolCase("Ave2x2Ceil", "kernel_size: 2 stride: 2", ave2, {2, 3, 5, 5},
                           {2, 3, 3, 3}));
  PoolSpec ave_rect{false, 2, 3, 2, 1, 1, 2};
  cases.push_back(PoolCase("AveRectangularPad",
                           "kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 2",
                           ave_rect, {2, 2, 4, 5}, {2, 2, 3, 7}));
  PoolSpec ave_global{false, 0, 0};
  ave_global.global = true;
  cases.push_back(PoolCase("AveGlobal", "global_pooling: true", ave_global, {2, 3, 4, 5},
                           {2, 3, 1, 1}));
  PoolSpec max_global = ave_global;
  max_global.max = true;
  cases.push_back(PoolCase("MaxGlobal", "global_pooling: true", max_global, {2, 3, 4, 5},
                           {2, 3, 1, 1}));
  // Floor-sized cases go to cuDNN on a GPU by default; engine CAFFE keeps
  // them on the layer's own kernels, so both are compared with the CPU.
  PoolSpec max_pad_floor = max_pad;
  max_pad_floor.ceil = false;
  cases.push_back(PoolCase("MaxPad1FloorCudnn", "kernel_size: 3 stride: 2 pad: 1 round_mode: FLOOR",
                           max_pad_floor, {2, 3, 5, 6}, {2, 3, 3, 3}));
  cases.push_back(PoolCase("MaxPad1FloorCaffeEngine",
                           "kernel_size: 3 stride: 2 pad: 1 round_mode: FLOOR engine: CAFFE",
                           max_pad_floor, {2, 3, 5, 6}, {2, 3, 3, 3}));
  cases.push_back(PoolCase("Ave3x3Stride2Pad1CaffeEngine",
                           "kernel_size: 3 stride: 2 pad: 1 engine: CAFFE", ave3, {2, 3, 5, 5},
                           {2, 3, 3, 3}));
  cases.push_back(PoolCase("Max2x2Stride2CudnnEngine", "kernel_size: 2 stride: 2 engine: CUDNN",
                           max2, {2, 3, 6, 6}, {2, 3, 3, 3}));
  {
    LayerCase c;
    c.name = "StochasticTrain";
    c.prototxt = "name: 'pool' type: 'Pooling' pooling_param { pool: STOCHASTIC kernel_size: 3 "
                 "stride: 2 }";
    c.bottom_shapes = {{2, 3, 7, 7}};
    c.fill = FillPositive;
    c.reference = StochasticReference(3, 2, true, {2, 3, 3, 3});
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "StochasticTest";
    c.prototxt = "name: 'pool' type: 'Pooling' pooling_param { pool: STOCHASTIC kernel_size: 2 "
                 "stride: 2 }";
    c.bottom_shapes = {{2, 3, 6, 6}};
    c.fill = FillPositive;
    c.phase = caffe::TEST;
    c.reference = StochasticReference(2, 2, false, {2, 3, 3, 3});
    c.check_gradient = false;  // Caffe defines no TEST-phase gradient
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Pooling, LayerCaseTest, ::testing::ValuesIn(PoolingCases()),
                         LayerCaseName);

// 2x2/stride-2 MAX pooling without a mask top takes a fast path that finds
// each argmax again in Backward; with ties everywhere it must route the
// gradient exactly as the general loop (used when the mask is a top) does.
TEST(PoolingTest, FastMaxPathRoutesTiesLikeTheGeneralLoop) {
  const std::string layer = "name: 'p' type: 'Pooling' pooling_param { kernel_size: 2 stride: 2 }";
  // 5 and 11 windows a row: groups of four in vector registers and the rest
  // one by one.
  for (const std::vector<int>& shape : {std::vector<int>{2, 3, 8, 10}, {1, 2, 6, 22}}) {
    SCOPED_TRACE(shape[3]);
    auto fast = MakeLayer(layer);
    auto general = MakeLayer(layer);
    Blob bottom_fast(shape), bottom_general(bottom_fast.shape());
    std::mt19937 rng(5);
    for (int64_t i = 0; i < bottom_fast.count(); ++i) {
      const float v = static_cast<float>(rng() % 3);  // values 0, 1, 2: many ties
      bottom_fast.mutable_cpu_data()[i] = bottom_general.mutable_cpu_data()[i] = v;
    }
    Blob top_fast, top_general, mask;
    fast->SetUp({&bottom_fast}, {&top_fast});
    general->SetUp({&bottom_general}, {&top_general, &mask});
    fast->Forward({&bottom_fast}, {&top_fast});
    general->Forward({&bottom_general}, {&top_general, &mask});
    ASSERT_EQ(top_fast.shape(), top_general.shape());
    for (int64_t i = 0; i < top_fast.count(); ++i) {
      ASSERT_EQ(top_fast.cpu_data()[i], top_general.cpu_data()[i]) << i;
      top_fast.mutable_cpu_diff()[i] = top_general.mutable_cpu_diff()[i] = 1.f + i;
    }
    fast->Backward({&top_fast}, {true}, {&bottom_fast});
    general->Backward({&top_general, &mask}, {true}, {&bottom_general});
    for (int64_t i = 0; i < bottom_fast.count(); ++i) {
      ASSERT_EQ(bottom_fast.cpu_diff()[i], bottom_general.cpu_diff()[i]) << "element " << i;
    }
  }
}

// MAX pooling without a mask top runs separably (rows, then columns), with
// or without keeping the argmax (a layer whose net never runs its backward
// keeps none). Against the window scan the mask top forces, for padded,
// strided, ceil-rounded and overlapping windows, ties everywhere and NaN
// inputs (never picked; an all-NaN window gives -FLT_MAX): the same values,
// and with the argmax the same gradient routing.
TEST(PoolingTest, SeparableMaxMatchesTheWindowScan) {
  for (const char* window : {"kernel_size: 3 stride: 1 pad: 1", "kernel_size: 3 stride: 2",
                             "kernel_size: 3 stride: 2 pad: 1", "kernel_h: 2 kernel_w: 4 stride: 3",
                             "kernel_size: 5 stride: 1 pad: 2", "kernel_size: 2 stride: 1"}) {
    for (bool ties : {false, true}) {
      SCOPED_TRACE(std::string(window) + (ties ? ", ties" : ""));
      const std::string layer =
          std::string("name: 'p' type: 'Pooling' pooling_param { ") + window + " }";
      auto forward_only = MakeLayer(layer);
      auto separable = MakeLayer(layer);
      auto scan = MakeLayer(layer);
      forward_only->set_backward_needed(false);
      Blob bottom(std::vector<int>{2, 3, 9, 11}), bottom_scan(bottom.shape());
      std::mt19937 rng(7);
      std::normal_distribution<float> gaussian;
      float* x = bottom.mutable_cpu_data();
      for (int64_t i = 0; i < bottom.count(); ++i) {
        x[i] = ties ? static_cast<float>(rng() % 3) : gaussian(rng);
      }
      x[5] = NAN;
      for (int i = 0; i < 99; ++i) x[99 + i] = NAN;  // a whole plane
      std::copy_n(x, bottom.count(), bottom_scan.mutable_cpu_data());
      Blob top_forward_only, top, top_scan, mask;
      forward_only->SetUp({&bottom}, {&top_forward_only});
      separable->SetUp({&bottom}, {&top});
      scan->SetUp({&bottom_scan}, {&top_scan, &mask});
      forward_only->Forward({&bottom}, {&top_forward_only});
      separable->Forward({&bottom}, {&top});
      scan->Forward({&bottom_scan}, {&top_scan, &mask});
      ASSERT_EQ(top.shape(), top_scan.shape());
      int lowest = 0;
      for (int64_t i = 0; i < top_scan.count(); ++i) {
        ASSERT_EQ(top_forward_only.cpu_data()[i], top_scan.cpu_data()[i]) << "element " << i;
        ASSERT_EQ(top.cpu_data()[i], top_scan.cpu_data()[i]) << "element " << i;
        lowest += top_scan.cpu_data()[i] == -FLT_MAX;
        top.mutable_cpu_diff()[i] = top_scan.mutable_cpu_diff()[i] = 1.f + i;
      }
      EXPECT_GT(lowest, 0);  // the all-NaN plane's windows
      separable->Backward({&top}, {true}, {&bottom});
      scan->Backward({&top_scan, &mask}, {true}, {&bottom_scan});
      for (int64_t i = 0; i < bottom.count(); ++i) {
        ASSERT_EQ(bottom.cpu_diff()[i], bottom_scan.cpu_diff()[i]) << "element " << i;
      }
    }
  }
}

// A net tells each layer whether it will run its backward; the pooling of a
// deploy net keeps no argmax, so Backward called on it directly (not
// through the net) is an error naming the layer, not a wrong gradient.
// force_backward keeps it.
TEST(PoolingTest, BackwardOfALayerItsNetNeverRunsBackwardIsAnError) {
  const std::string text = R"(
    name: "deploy"
    layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 6 dim: 6 } } }
    layer { name: "pool" type: "Pooling" bottom: "data" top: "pool"
            pooling_param { pool: MAX kernel_size: 3 stride: 1 } }
  )";
  for (bool force : {false, true}) {
    caffe::NetParameter param;
    ReadProtoFromTextString(text, "pooling test net", &param);
    param.mutable_state()->set_phase(caffe::TEST);
    param.set_force_backward(force);
    Net net(param);
    Layer* pool = net.layers()[1].get();
    EXPECT_EQ(pool->backward_needed(), force);
    net.Forward();
    if (force) {
      pool->Backward(net.top_vecs()[1], {true}, net.bottom_vecs()[1]);
      continue;
    }
    try {
      pool->Backward(net.top_vecs()[1], {true}, net.bottom_vecs()[1]);
      FAIL() << "Backward ran without an argmax";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("layer 'pool' (Pooling)"), std::string::npos)
          << e.what();
    }
  }
}

std::string SetUpError(const std::string& prototxt, int tops = 1) {
  auto layer = MakeLayer(prototxt);
  if (!layer) return "no layer";
  Blob bottom(std::vector<int>{1, 2, 5, 5});
  std::vector<std::unique_ptr<Blob>> storage;
  BlobVec top;
  for (int i = 0; i < tops; ++i) {
    storage.push_back(std::make_unique<Blob>());
    top.push_back(storage.back().get());
  }
  try {
    layer->SetUp({&bottom}, top);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PoolingErrors, StochasticTestPhaseHasNoBackward) {
  auto layer = MakeLayer(
      "name: 'p' type: 'Pooling' pooling_param { pool: STOCHASTIC kernel_size: 2 stride: 2 }",
      caffe::TEST);
  Blob bottom(std::vector<int>{1, 1, 4, 4}), top;
  FillUniform(&bottom, 0.1f, 1.f, 3);
  layer->SetUp({&bottom}, {&top});
  layer->Forward({&bottom}, {&top});
  try {
    layer->Backward({&top}, {true}, {&bottom});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string error = e.what();
    EXPECT_NE(error.find("STOCHASTIC"), std::string::npos) << error;
    EXPECT_NE(error.find("'p'"), std::string::npos) << error;
  }
}

TEST(PoolingErrors, MissingKernel) {
  const std::string error = SetUpError("name: 'p' type: 'Pooling' pooling_param { pool: MAX }");
  EXPECT_NE(error.find("kernel_size"), std::string::npos) << error;
}

TEST(PoolingErrors, GlobalWithKernel) {
  const std::string error = SetUpError(
      "name: 'p' type: 'Pooling' pooling_param { global_pooling: true kernel_size: 2 }");
  EXPECT_NE(error.find("global_pooling"), std::string::npos) << error;
}

TEST(PoolingErrors, PadNotSmallerThanKernel) {
  const std::string error = SetUpError(
      "name: 'p' type: 'Pooling' pooling_param { kernel_size: 2 pad: 2 }");
  EXPECT_NE(error.find("pad"), std::string::npos) << error;
}

TEST(PoolingErrors, MaskTopOnlyForMax) {
  const std::string error = SetUpError(
      "name: 'p' type: 'Pooling' pooling_param { pool: AVE kernel_size: 2 }", 2);
  EXPECT_NE(error.find("at most 1 top"), std::string::npos) << error;
}

}  // namespace
}  // namespace testing
}  // namespace cortado
