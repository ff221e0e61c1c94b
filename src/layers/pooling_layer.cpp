// Pooling: max, average or stochastic over spatial windows, with Caffe's
// output-size rounding so models trained there keep their shapes.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "cortado/conv_param.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/parallel.hpp"
#include "cortado/rng.hpp"
#include "pooling_cudnn.hpp"
#include "pooling_math.hpp"
#include "../util/lane_sum.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// pooling_layer.cu; method is the PoolMethod value. index: see the kernels.
void PoolingForwardGpu(const PoolingShape& s, int method, const float* x, const float* uniform,
                       float* y, float* index);
void PoolingBackwardGpu(const PoolingShape& s, const float* dy, const float* index, float* dx);
static_assert(caffe::PoolingParameter::MAX == 0 && caffe::PoolingParameter::AVE == 1,
              "pooling_layer.cu's method constants");
#endif

namespace {

// MAX pooling with 2x2 windows at stride 2, every window inside the input
// (LeNet's and VGG's pooling). Forward keeps only the maxima, which
// vectorises; backward finds each window's argmax again as the first element
// in row-major order equal to the maximum, which is the element the general
// loop's strict `>` scan picks, so the two paths agree on ties.
void MaxPool2x2Forward(const float* x, int width, int pooled_h, int pooled_w, float* y) {
  for (int ph = 0; ph < pooled_h; ++ph) {
    const float* r0 = x + int64_t(2) * ph * width;
    const float* r1 = r0 + width;
    float* y_row = y + int64_t(ph) * pooled_w;
    for (int pw = 0; pw < pooled_w; ++pw) {
      y_row[pw] = std::max(std::max(r0[2 * pw], r0[2 * pw + 1]),
                           std::max(r1[2 * pw], r1[2 * pw + 1]));
    }
  }
}

// MAX pooling of one plane for any window, separably: the maximum over each
// output row's input rows first, one vectorised pass per input row, then
// over each window's columns. A window scan is a serial compare and move per
// element. Values and argmaxes are those of PoolWindowMax: NaN is never
// picked, an all-NaN window gives -FLT_MAX and index -1, and of equal maxima
// the first in row-major order wins (the column pass keeps the first row,
// the row pass the smallest in-plane index). With KeepPicks false, `picked`
// and `column_row` are not touched. The scratch holds `width` values each.
// One column offset of the window for the outputs [pw0, pw1), whose windows
// lie inside the row: output pw reads column pw * stride + offset. Written
// to vectorise (masks instead of branches; a row index of -1 makes the
// index -1).
template <bool KeepPicks>
void MaxPoolColumnStep(const float* column_max, const int* column_row, int width, int stride,
                       int offset, int pw0, int pw1, float* y, int* picked) {
  for (int pw = pw0; pw < pw1; ++pw) {
    const int w = pw * stride + offset;
    const float v = column_max[w];
    if (KeepPicks) {
      const int r = column_row[w];
      const int index = (r * width + w) | (r >> 31);
      const int better = -static_cast<int>(v > y[pw] || (v == y[pw] && index < picked[pw]));
      picked[pw] = (index & better) | (picked[pw] & ~better);
    }
    y[pw] = v > y[pw] ? v : y[pw];
  }
}

// MAX pooling of one plane for any window, separably: the maximum over each
// output row's input rows first, one vectorised pass per input row, then
// over each window's columns, one vectorised pass per column of the window
// for the outputs whose windows lie inside the row. A window scan is a
// serial compare and move per element. Values and argmaxes are those of
// PoolWindowMax: NaN is never picked, an all-NaN window gives -FLT_MAX and
// index -1, and of equal maxima the first in row-major order wins (the
// column pass keeps the first row, the row pass the smallest in-plane
// index). With KeepPicks false, `picked` and `column_row` are not touched.
// The scratch holds `width` values each.
template <bool KeepPicks>
void MaxPoolSeparableForward(const float* x, int width, const std::vector<PoolSpan>& rows,
                             const std::vector<PoolSpan>& cols, int kernel_w, int stride_w,
                             int pad_w, float* column_max, int* column_row, float* y,
                             int* picked) {
  const int pooled_w = static_cast<int>(cols.size());
  // Outputs [pw0, pw1) have windows inside the row; the rest are clipped.
  const int pw0 = std::min(pooled_w, (pad_w + stride_w - 1) / stride_w);
  const int pw1 = width + pad_w < kernel_w
                      ? pw0
                      : std::max(pw0, std::min(pooled_w, (width + pad_w - kernel_w) / stride_w + 1));
  for (size_t ph = 0; ph < rows.size(); ++ph) {
    for (int w = 0; w < width; ++w) column_max[w] = -FLT_MAX;
    if (KeepPicks) std::fill_n(column_row, width, -1);
    for (int h = rows[ph].begin; h < rows[ph].end; ++h) {
      const float* row = x + int64_t(h) * width;
      for (int w = 0; w < width; ++w) {
        // The row index is blended through a mask: as `greater ? h : row`
        // GCC makes the two stores conditional and the loop a branch.
        const float v = row[w], m = column_max[w];
        if (KeepPicks) {
          const int greater = -static_cast<int>(v > m);
          column_row[w] = (h & greater) | (column_row[w] & ~greater);
        }
        column_max[w] = v > m ? v : m;
      }
    }
    float* y_row = y + int64_t(ph) * pooled_w;
    int* picked_row = KeepPicks ? picked + int64_t(ph) * pooled_w : nullptr;
    for (int pw = 0; pw < pooled_w; ++pw) {
      y_row[pw] = -FLT_MAX;
      if (KeepPicks) picked_row[pw] = -1;
    }
    for (int j = 0; j < kernel_w; ++j) {
      MaxPoolColumnStep<KeepPicks>(column_max, column_row, width, stride_w, j - pad_w, pw0, pw1,
                                   y_row, picked_row);
    }
    for (int pw = 0; pw < pooled_w; ++pw) {
      if (pw == pw0) pw = pw1;  // the clipped windows at both ends
      if (pw >= pooled_w) break;
      for (int w = cols[pw].begin; w < cols[pw].end; ++w) {
        MaxPoolColumnStep<KeepPicks>(column_max, column_row, width, 0, w, pw, pw + 1, y_row,
                                     picked_row);
      }
    }
  }
}

// Writes every input element a window covers; the caller zeroes the rest.
// Each gradient goes to the first element of its window (in row order)
// that equals the window's maximum. Four windows at a time in SSE
// registers (GCC's and Clang's vector types): the scalar loop's compares
// and selects took 5x the time of its loads and stores (LeNet's pool1
// backward: 0.39 ms, 0.07 of them memory).
void MaxPool2x2Backward(const float* x, const float* y, const float* dy, int width,
                        int pooled_h, int pooled_w, float* dx) {
  using Floats = FloatLanes4;  // lane_sum.hpp's vector type
  typedef int Mask __attribute__((vector_size(16)));
  // The eight inputs p[0..7] of four windows' row, split into the windows'
  // left (even) and right (odd) columns. Only those eight are read: a load
  // at p + 1 would read one float past the last window of the plane.
  auto split = [](const float* p, Floats* left, Floats* right) {
    const Floats low = LoadFloatLanes4(p), high = LoadFloatLanes4(p + 4);
    *left = __builtin_shufflevector(low, high, 0, 2, 4, 6);
    *right = __builtin_shufflevector(low, high, 1, 3, 5, 7);
  };
  // Writes a[0], b[0], a[1], b[1], ... to p[0..7].
  auto interleave = [](Floats a, Floats b, float* p) {
    const Floats low = __builtin_shufflevector(a, b, 0, 4, 1, 5);
    const Floats high = __builtin_shufflevector(a, b, 2, 6, 3, 7);
    std::memcpy(p, &low, sizeof low);
    std::memcpy(p + 4, &high, sizeof high);
  };
  const int whole = pooled_w / 4 * 4;
  for (int ph = 0; ph < pooled_h; ++ph) {
    const int64_t row = int64_t(2) * ph * width;
    const float* r0 = x + row;
    const float* r1 = r0 + width;
    float* d0 = dx + row;
    float* d1 = d0 + width;
    const float* y_row = y + int64_t(ph) * pooled_w;
    const float* dy_row = dy + int64_t(ph) * pooled_w;
    for (int pw = 0; pw < whole; pw += 4) {
      const Floats m = LoadFloatLanes4(y_row + pw), g = LoadFloatLanes4(dy_row + pw);
      const int i = 2 * pw;
      Floats top_left, top_right, bottom_left, bottom_right;
      split(r0 + i, &top_left, &top_right);
      split(r1 + i, &bottom_left, &bottom_right);
      const Mask a = top_left == m;
      const Mask b = ~a & (top_right == m);
      const Mask c = ~(a | b) & (bottom_left == m);
      const Mask d = ~(a | b | c) & (bottom_right == m);
      const Mask bits = (Mask)g;  // a vector cast: the same bits
      interleave((Floats)(a & bits), (Floats)(b & bits), d0 + i);
      interleave((Floats)(c & bits), (Floats)(d & bits), d1 + i);
    }
    for (int pw = whole; pw < pooled_w; ++pw) {
      const float m = y_row[pw], g = dy_row[pw];
      // Bitwise, not short-circuit, operators: no branches to mispredict.
      const bool a = r0[2 * pw] == m;
      const bool b = !a & (r0[2 * pw + 1] == m);
      const bool c = !(a | b) & (r1[2 * pw] == m);
      const bool d = !(a | b | c) & (r1[2 * pw + 1] == m);
      d0[2 * pw] = a ? g : 0.f;
      d0[2 * pw + 1] = b ? g : 0.f;
      d1[2 * pw] = c ? g : 0.f;
      d1[2 * pw + 1] = d ? g : 0.f;
    }
  }
}

}  // namespace

class PoolingLayer : public Layer {
 public:
  explicit PoolingLayer(const caffe::LayerParameter& param) : Layer(param) {}
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda | kLayerCudnn;
  const char* type() const override { return "Pooling"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int MinTopBlobs() const override { return 1; }
  // MAX pooling may expose its argmax mask as a second top.
  int MaxTopBlobs() const override {
    return layer_param_.pooling_param().pool() == caffe::PoolingParameter::MAX ? 2 : 1;
  }
  // Stochastic pooling draws random numbers in training.
  bool CheapToRecompute() const override {
    return layer_param_.pooling_param().pool() != caffe::PoolingParameter::STOCHASTIC;
  }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  void Reshape(const BlobVec& bottom, const BlobVec& top) override;

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override;
#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override;
#endif

 private:
  // The window of each output row (and column): PoolingSpan, computed once
  // per Reshape.
  using Span = PoolSpan;
  static std::vector<Span> Spans(int pooled, int size, int kernel, int stride, int pad);
  // MAX, and STOCHASTIC in training, route each gradient to one picked input.
  bool Picks() const {
    return method_ == caffe::PoolingParameter::MAX ||
           (method_ == caffe::PoolingParameter::STOCHASTIC && phase_ == caffe::TRAIN);
  }
  // Caffe's STOCHASTIC pooling has no gradient at test time; neither has ours.
  void CheckBackwardDefined() const {
    if (method_ == caffe::PoolingParameter::STOCHASTIC && phase_ != caffe::TRAIN) {
      ThrowError(ErrorPrefix(), "STOCHASTIC pooling has no backward pass in the TEST phase");
    }
  }
#ifdef CORTADO_WITH_CUDA
  PoolingShape Shape() const {
    return {num_, channels_, height_, width_, pooled_h_, pooled_w_, kernel_h_,
            kernel_w_, stride_h_, stride_w_, pad_h_, pad_w_};
  }
  // The cuDNN engine takes 2-D MAX and AVE when the engine is not CAFFE, no
  // mask top is asked for, and the output size is cuDNN's (floor) one:
  // ceil rounding can add a window past the padded input, which cuDNN's
  // symmetric padding cannot express.
  bool UsesCudnn(const BlobVec& top) const {
    if (layer_param_.pooling_param().engine() == caffe::PoolingParameter::CAFFE) return false;
    if (method_ == caffe::PoolingParameter::STOCHASTIC || top.size() > 1) return false;
    return pooled_h_ == (height_ + 2 * pad_h_ - kernel_h_) / stride_h_ + 1 &&
           pooled_w_ == (width_ + 2 * pad_w_ - kernel_w_) / stride_w_ + 1;
  }
#endif
  // Whether the 2x2, stride-2 MAX fast path applies (no mask top asked for).
  bool UsesMaxPool2x2(const BlobVec& top) const {
    return method_ == caffe::PoolingParameter::MAX && top.size() == 1 && kernel_h_ == 2 &&
           kernel_w_ == 2 && stride_h_ == 2 && stride_w_ == 2 && pad_h_ == 0 && pad_w_ == 0 &&
           2 * pooled_h_ <= height_ && 2 * pooled_w_ <= width_;
  }

  caffe::PoolingParameter::PoolMethod method_ = caffe::PoolingParameter::MAX;
  bool global_ = false;
  bool ceil_ = true;
  int kernel_h_ = 0, kernel_w_ = 0;
  int stride_h_ = 1, stride_w_ = 1;
  int pad_h_ = 0, pad_w_ = 0;
  int height_ = 0, width_ = 0;
  int pooled_h_ = 0, pooled_w_ = 0;
  int planes_ = 0;  // num * channels
  int num_ = 0, channels_ = 0;
  std::vector<Span> rows_, cols_;
  // Argmax (or stochastic pick) per output element (index within its input
  // plane), kept for backward when the mask is not requested as a top and
  // neither the 2x2 path nor cuDNN (which read the data instead) runs. An
  // internal blob, placed by the net's memory planner. The CPU stores ints
  // in its bytes (exact for any plane size); the CUDA kernels store floats,
  // as they do into a mask top. Forward and backward of one pass run on one
  // device, so each reads what it wrote.
  Blob picked_;
  int* mutable_cpu_picked() { return reinterpret_cast<int*>(picked_.mutable_cpu_data()); }
  const int* cpu_picked() const { return reinterpret_cast<const int*>(picked_.cpu_data()); }
  bool KeepsPicks(const BlobVec& top) const {
    if (!Picks() || top.size() > 1) return false;
#ifdef CORTADO_WITH_CUDA
    if (runs_on_cuda_) return !UsesCudnn(top);
#endif
    return !UsesMaxPool2x2(top);
  }
  // STOCHASTIC training: one uniform draw in [0, 1) per output element.
  std::vector<float> uniform_;
#ifdef CORTADO_WITH_CUDA
  Blob uniform_gpu_;  // the same on the device
  std::unique_ptr<CudnnPooling> cudnn_;
#endif
};

void PoolingLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::PoolingParameter& p = layer_param_.pooling_param();
  DeclareInternalBlob(&picked_);
  method_ = p.pool();
  global_ = p.global_pooling();
  const bool has_kernel = p.has_kernel_size() || p.has_kernel_h() || p.has_kernel_w();
  if (global_) {
    if (has_kernel) {
      ThrowError(ErrorPrefix(), "global_pooling takes the whole input as its window; do not "
                 "also give kernel_size or kernel_h/kernel_w");
    }
  } else {
    if (p.has_kernel_size() && (p.has_kernel_h() || p.has_kernel_w())) {
      ThrowError(ErrorPrefix(), "give either kernel_size or kernel_h/kernel_w, not both");
    }
    if (!p.has_kernel_size() && !(p.has_kernel_h() && p.has_kernel_w())) {
      ThrowError(ErrorPrefix(), "kernel_size (or both kernel_h and kernel_w) is required");
    }
    kernel_h_ = CheckedInt(ErrorPrefix(), "pooling_param.kernel_h",
                           p.has_kernel_size() ? p.kernel_size() : p.kernel_h());
    kernel_w_ = CheckedInt(ErrorPrefix(), "pooling_param.kernel_w",
                           p.has_kernel_size() ? p.kernel_size() : p.kernel_w());
    if (kernel_h_ <= 0 || kernel_w_ <= 0) {
      ThrowError(ErrorPrefix(), "kernel size must be positive, got ", kernel_h_, "x",
                 kernel_w_);
    }
  }
  if (p.has_pad() && (p.has_pad_h() || p.has_pad_w())) {
    ThrowError(ErrorPrefix(), "give either pad or pad_h/pad_w, not both");
  }
  if (p.has_stride() && (p.has_stride_h() || p.has_stride_w())) {
    ThrowError(ErrorPrefix(), "give either stride or stride_h/stride_w, not both");
  }
  // The fields are uint32: values beyond an int are errors, not negatives.
  pad_h_ = CheckedInt(ErrorPrefix(), "pooling_param.pad_h", p.has_pad() ? p.pad() : p.pad_h());
  pad_w_ = CheckedInt(ErrorPrefix(), "pooling_param.pad_w", p.has_pad() ? p.pad() : p.pad_w());
  stride_h_ = CheckedInt(ErrorPrefix(), "pooling_param.stride_h",
                         p.has_stride_h() ? p.stride_h() : p.stride());
  stride_w_ = CheckedInt(ErrorPrefix(), "pooling_param.stride_w",
                         p.has_stride_w() ? p.stride_w() : p.stride());
  if (stride_h_ <= 0 || stride_w_ <= 0) {
    ThrowError(ErrorPrefix(), "stride must be positive, got ", stride_h_, "x", stride_w_);
  }
  if (global_ && (pad_h_ != 0 || pad_w_ != 0 || stride_h_ != 1 || stride_w_ != 1)) {
    ThrowError(ErrorPrefix(), "global_pooling needs pad 0 and stride 1");
  }
  if (!global_ && (pad_h_ >= kernel_h_ || pad_w_ >= kernel_w_)) {
    ThrowError(ErrorPrefix(), "pad (", pad_h_, "x", pad_w_, ") must be smaller than the "
               "kernel (", kernel_h_, "x", kernel_w_, ")");
  }
  // Cortado's ceil_mode, when given, overrides Caffe's round_mode.
  ceil_ = p.has_ceil_mode() ? p.ceil_mode()
                            : p.round_mode() == caffe::PoolingParameter::CEIL;
}

void PoolingLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  const Blob& in = *bottom[0];
  if (in.num_axes() != 4) {
    ThrowError(ErrorPrefix(), "needs a 4-D bottom (num, channels, height, width), got ",
               in.shape_string());
  }
  height_ = in.height();
  width_ = in.width();
  num_ = in.num();
  channels_ = in.channels();
  // Planes and in-plane indices (the argmax mask) are ints.
  planes_ = CheckedInt(ErrorPrefix(), "the planes (num x channels)", int64_t(num_) * channels_);
  CheckedInt(ErrorPrefix(), "the input plane (height x width)", int64_t(height_) * width_);
  if (global_) {
    kernel_h_ = height_;
    kernel_w_ = width_;
  }
  // The window arithmetic (PoolingSpan) is in int: the padded input must fit.
  const int64_t padded_h = CheckedInt(
      ErrorPrefix(), StrCat("the padded height (", height_, " + 2 x pad ", pad_h_, ")"),
      int64_t(height_) + 2 * int64_t(pad_h_));
  const int64_t padded_w = CheckedInt(
      ErrorPrefix(), StrCat("the padded width (", width_, " + 2 x pad ", pad_w_, ")"),
      int64_t(width_) + 2 * int64_t(pad_w_));
  // A kernel larger than the input builds, as in Caffe, whose published pose
  // models give placeholder 1x1 input_dims and reshape before use; Forward
  // refuses it (Layer::unusable_shape_).
  unusable_shape_.clear();
  if (padded_h < kernel_h_ || padded_w < kernel_w_) {
    unusable_shape_ = StrCat("kernel ", kernel_h_, "x", kernel_w_, " (pad ", pad_h_, "x", pad_w_,
                             ") is larger than the input ", in.shape_string());
  }
  // Caffe's pooled size: the floor, or the ceiling, of span / stride, plus
  // one; on a placeholder input the span is negative, so the rounding is
  // done here rather than by C++'s division (which truncates toward zero).
  // Rounding up may start the last window past the input and its padding;
  // Caffe drops that window, on both axes, whenever either axis is padded.
  const bool any_pad = pad_h_ > 0 || pad_w_ > 0;
  auto pooled = [&](int size, int kernel, int stride, int pad) {
    const int64_t span = int64_t(size) + 2 * int64_t(pad) - kernel;
    int64_t quotient = span / stride;
    const bool inexact = span % stride != 0;
    if (inexact && ceil_ && span > 0) ++quotient;
    if (inexact && !ceil_ && span < 0) --quotient;
    int64_t out = quotient + 1;
    if (any_pad && (out - 1) * stride >= int64_t(size) + pad) --out;
    return static_cast<int>(std::max<int64_t>(out, 0));  // at most the padded size
  };
  pooled_h_ = pooled(height_, kernel_h_, stride_h_, pad_h_);
  pooled_w_ = pooled(width_, kernel_w_, stride_w_, pad_w_);
  CheckedInt(ErrorPrefix(), "the output plane (pooled height x pooled width)",
             int64_t(pooled_h_) * pooled_w_);
  rows_ = Spans(pooled_h_, height_, kernel_h_, stride_h_, pad_h_);
  cols_ = Spans(pooled_w_, width_, kernel_w_, stride_w_, pad_w_);
  const std::vector<int> shape{in.num(), in.channels(), pooled_h_, pooled_w_};
  for (Blob* t : top) t->Reshape(shape);
  picked_.Reshape(KeepsPicks(top) ? shape : std::vector<int>{0});
}

std::vector<PoolingLayer::Span> PoolingLayer::Spans(int pooled, int size, int kernel,
                                                    int stride, int pad) {
  std::vector<Span> spans(pooled);
  for (int p = 0; p < pooled; ++p) spans[p] = PoolingSpan(p, size, kernel, stride, pad);
  return spans;
}

void PoolingLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const float* in = bottom[0]->cpu_data();
  float* out = top[0]->mutable_cpu_data();
  const int in_plane = height_ * width_;
  const int out_plane = pooled_h_ * pooled_w_;
  const bool picks = Picks();
  const bool mask_top = top.size() > 1;
  float* mask_out = mask_top ? top[1]->mutable_cpu_data() : nullptr;
  int* index_out = KeepsPicks(top) && backward_needed() ? mutable_cpu_picked() : nullptr;
  const float* uniform = nullptr;
  if (method_ == caffe::PoolingParameter::STOCHASTIC && phase_ == caffe::TRAIN) {
    uniform_.resize(size_t(planes_) * out_plane);
    RngUniform(static_cast<int64_t>(uniform_.size()), 0.f, 1.f, uniform_.data());
    uniform = uniform_.data();
  }
  if (UsesMaxPool2x2(top)) {
    ParallelFor(0, planes_, [&](int64_t lo, int64_t hi) {
      for (int64_t plane = lo; plane < hi; ++plane) {
        MaxPool2x2Forward(in + plane * in_plane, width_, pooled_h_, pooled_w_,
                          out + plane * out_plane);
      }
    }, 4);
    return;
  }
  if (method_ == caffe::PoolingParameter::MAX && !mask_top) {
    ParallelFor(0, planes_, [&](int64_t lo, int64_t hi) {
      std::vector<float> column_max(width_);
      std::vector<int> column_row(width_);
      for (int64_t plane = lo; plane < hi; ++plane) {
        const float* x = in + plane * in_plane;
        float* y = out + plane * out_plane;
        if (index_out) {
          MaxPoolSeparableForward<true>(x, width_, rows_, cols_, kernel_w_, stride_w_, pad_w_,
                                        column_max.data(), column_row.data(), y,
                                        index_out + plane * out_plane);
        } else {
          MaxPoolSeparableForward<false>(x, width_, rows_, cols_, kernel_w_, stride_w_, pad_w_,
                                         column_max.data(), nullptr, y, nullptr);
        }
      }
    }, 4);
    return;
  }
  ParallelFor(0, planes_, [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      const float* x = in + plane * in_plane;
      float* y = out + plane * out_plane;
      for (int ph = 0; ph < pooled_h_; ++ph) {
        const Span& r = rows_[ph];
        for (int pw = 0; pw < pooled_w_; ++pw) {
          const Span& c = cols_[pw];
          const int64_t o = int64_t(ph) * pooled_w_ + pw;
          int picked = -1;
          switch (method_) {
            case caffe::PoolingParameter::MAX:
              y[o] = PoolWindowMax(x, width_, r, c, &picked);
              break;
            case caffe::PoolingParameter::AVE:
              y[o] = PoolWindowAverage(x, width_, r, c);
              break;
            default:  // STOCHASTIC
              y[o] = uniform ? PoolWindowStochastic(x, width_, r, c,
                                                    uniform[plane * out_plane + o], &picked)
                             : PoolWindowStochasticMean(x, width_, r, c);
              break;
          }
          if (!picks) continue;
          if (mask_top) {
            mask_out[plane * out_plane + o] = static_cast<float>(picked);
          } else {
            index_out[plane * out_plane + o] = picked;
          }
        }
      }
    }
  }, 4);
}

void PoolingLayer::BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                                const BlobVec& bottom) {
  if (!propagate_down[0]) return;
  CheckBackwardDefined();
  const float* out_diff = top[0]->cpu_diff();
  float* in_diff = bottom[0]->mutable_cpu_diff();
  const int in_plane = height_ * width_;
  const int out_plane = pooled_h_ * pooled_w_;
  const bool picks = Picks();
  const float* mask = top.size() > 1 ? top[1]->cpu_data() : nullptr;
  const int* index = KeepsPicks(top) ? cpu_picked() : nullptr;
  if (UsesMaxPool2x2(top)) {
    const float* in = bottom[0]->cpu_data();
    const float* out = top[0]->cpu_data();
    const bool covered = 2 * pooled_h_ == height_ && 2 * pooled_w_ == width_;
    ParallelFor(0, planes_, [&](int64_t lo, int64_t hi) {
      for (int64_t plane = lo; plane < hi; ++plane) {
        float* dx = in_diff + plane * in_plane;
        if (!covered) std::fill(dx, dx + in_plane, 0.f);
        MaxPool2x2Backward(in + plane * in_plane, out + plane * out_plane,
                           out_diff + plane * out_plane, width_, pooled_h_, pooled_w_, dx);
      }
    }, 4);
    return;
  }
  ParallelFor(0, planes_, [&](int64_t lo, int64_t hi) {
    for (int64_t plane = lo; plane < hi; ++plane) {
      float* dx = in_diff + plane * in_plane;
      const float* dy = out_diff + plane * out_plane;
      std::fill(dx, dx + in_plane, 0.f);
      if (picks) {
        for (int j = 0; j < out_plane; ++j) {
          const int64_t o = plane * out_plane + j;
          const int source = mask ? static_cast<int>(mask[o]) : index[o];
          if (source >= 0) dx[source] += dy[j];
        }
        continue;
      }
      for (int ph = 0; ph < pooled_h_; ++ph) {
        const Span& r = rows_[ph];
        for (int pw = 0; pw < pooled_w_; ++pw) {
          const Span& c = cols_[pw];
          const float share = dy[ph * pooled_w_ + pw] / (r.padded_length * c.padded_length);
          for (int h = r.begin; h < r.end; ++h) {
            for (int w = c.begin; w < c.end; ++w) dx[h * width_ + w] += share;
          }
        }
      }
    }
  }, 4);
}

#ifdef CORTADO_WITH_CUDA
void PoolingLayer::ForwardGpu(const BlobVec& bottom, const BlobVec& top) {
  const float* x = bottom[0]->gpu_data();
  float* y = top[0]->mutable_gpu_data();
  if (UsesCudnn(top)) {
    if (!cudnn_) cudnn_ = std::make_unique<CudnnPooling>();
    cudnn_->Configure(method_ == caffe::PoolingParameter::MAX, Shape());
    cudnn_->Forward(x, y);
    return;
  }
  float* index = nullptr;
  if (Picks()) {
    index = top.size() > 1 ? top[1]->mutable_gpu_data() : picked_.mutable_gpu_data();
  }
  // The draws come from the host RNG, as many and in the order the CPU
  // path takes them, so both devices pick the same elements.
  const float* uniform = nullptr;
  if (method_ == caffe::PoolingParameter::STOCHASTIC && phase_ == caffe::TRAIN) {
    uniform_gpu_.ReshapeLike(*top[0]);
    RngUniform(uniform_gpu_.count(), 0.f, 1.f, uniform_gpu_.mutable_cpu_data());
    uniform = uniform_gpu_.gpu_data();
  }
  PoolingForwardGpu(Shape(), static_cast<int>(method_), x, uniform, y, index);
}

void PoolingLayer::BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                               const BlobVec& bottom) {
  if (!propagate_down[0]) return;
  CheckBackwardDefined();
  float* dx = bottom[0]->mutable_gpu_diff();
  if (UsesCudnn(top)) {
    cudnn_->Backward(bottom[0]->gpu_data(), top[0]->gpu_data(), top[0]->gpu_diff(), dx);
    return;
  }
  const float* index = nullptr;
  if (Picks()) index = top.size() > 1 ? top[1]->gpu_data() : picked_.gpu_data();
  PoolingBackwardGpu(Shape(), top[0]->gpu_diff(), index, dx);
}
#endif

CORTADO_REGISTER_LAYER(Pooling, PoolingLayer)

}  // namespace cortado
