// Deconvolution (transposed convolution): the backward pass of a convolution
// used as a forward pass, so each input pixel spreads a filter-sized patch
// into a larger output. Built from the same Im2col/Col2im and Gemm pieces.
#include <memory>
#include <vector>

#include "cortado/conv_param.hpp"
#include "cortado/filler.hpp"
#include "cortado/im2col.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "../util/lane_sum.hpp"

#ifdef CORTADO_WITH_DNNL
#include "dnnl_convolution.hpp"
#endif

#ifdef CORTADO_WITH_CUDA
#include "../util/channel_bias.hpp"
#include "cortado/cuda.hpp"
#include "cortado/im2col_gpu.hpp"
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {
namespace {

class DeconvolutionLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Deconvolution"; }
  int MinBottomBlobs() const override { return 1; }
  int MinTopBlobs() const override { return 1; }
  bool EqualNumBottomTopBlobs() const override { return true; }

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
  // Unfolds one output-sized image into columns, and folds columns back.
  int OutputSize(const std::string& axis_name, const Blob& in, int input, int kernel, int stride,
                 int pad, int dilation) const;
  void UnfoldImage(const float* image, float* columns) const;
  void FoldImage(const float* columns, float* image) const;
#ifdef CORTADO_WITH_CUDA
  void UnfoldImageGpu(const float* image, float* columns) const;
  void FoldImageGpu(const float* columns, float* image) const;
#endif

  int axis_ = 1;         // the channel axis; the axes before it are batch axes
  int channels_ = 0;     // input channels
  int num_output_ = 0;   // output channels
  int group_ = 1;
  bool bias_term_ = true;
  int num_ = 0;
  // The geometry of the convolution this layer transposes: its "image" is
  // our output, and its output size is our input size.
  ConvGeometry geometry_;
  // Anything but two spatial axes (or force_nd_im2col) uses the general
  // N-d unfolding instead.
  int spatial_axes_ = 2;
  bool nd_ = false;
  ConvGeometryNd geometry_nd_;
  int in_spatial_ = 0;   // product of the input's spatial axes
  int kernel_dim_ = 0;   // (num_output_ / group_) * kernel_h * kernel_w
  std::vector<float> columns_;
#ifdef CORTADO_WITH_DNNL
  // The oneDNN engine runs the convolution this layer transposes, in the
  // other direction: its backward-data pass is our forward and vice versa.
  // Chosen per shape at each CPU forward; the first choice is logged.
  void ChooseCpuEngine();
  void ForwardDnnl(const BlobVec& bottom, const BlobVec& top);
  void BackwardDnnl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom);

  bool use_dnnl_ = false;
  bool cpu_engine_logged_ = false;
  std::unique_ptr<DnnlConvolution> dnnl_;
#endif
};

void DeconvolutionLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::ConvolutionParameter& p = layer_param_.convolution_param();
  axis_ = bottom[0]->CanonicalAxisIndex(p.axis());
  spatial_axes_ = bottom[0]->num_axes() - axis_ - 1;
  if (spatial_axes_ < 1) {
    ThrowError(ErrorPrefix(), "bottom ", bottom[0]->shape_string(),
               " has no spatial axis after the channel axis (axis ", axis_, ")");
  }
  nd_ = spatial_axes_ != 2 || p.force_nd_im2col();
  std::vector<int> kernel;
  if (nd_) {
    ReadConvWindowNd(p, ErrorPrefix(), spatial_axes_, &geometry_nd_);
    kernel = geometry_nd_.kernel;
  } else {
    ReadConvWindow(p, ErrorPrefix(), &geometry_);
    kernel = {geometry_.kernel_h, geometry_.kernel_w};
  }
  channels_ = bottom[0]->shape(axis_);
  num_output_ = static_cast<int>(p.num_output());
  group_ = static_cast<int>(p.group());
  bias_term_ = p.bias_term();
  if (num_output_ <= 0) ThrowError(ErrorPrefix(), "num_output must be positive");
  if (group_ <= 0 || channels_ % group_ != 0 || num_output_ % group_ != 0) {
    ThrowError(ErrorPrefix(), "group (", group_, ") must be positive and divide both the input "
               "channels (", channels_, ") and num_output (", num_output_, ")");
  }
  geometry_.channels = num_output_;
  geometry_nd_.channels = num_output_;
  std::vector<int> weight_shape{channels_, num_output_ / group_};
  weight_shape.insert(weight_shape.end(), kernel.begin(), kernel.end());
  kernel_dim_ = CheckedInt(ErrorPrefix(), "the weights per input channel",
                          Blob(weight_shape).count(1));
  if (!blobs_.empty()) {
    if (blobs_.size() != (bias_term_ ? 2u : 1u) || blobs_[0]->shape() != weight_shape ||
        (bias_term_ && blobs_[1]->count() != num_output_)) {
      ThrowError(ErrorPrefix(), "preloaded parameters do not match weights ",
                 Blob(weight_shape).shape_string(), bias_term_ ? " and a bias" : "");
    }
    return;
  }
  blobs_.push_back(std::make_unique<Blob>(weight_shape));
  FillBlob(p.weight_filler(), blobs_[0].get());
  if (bias_term_) {
    blobs_.push_back(std::make_unique<Blob>(std::vector<int>{num_output_}));
    FillBlob(p.bias_filler(), blobs_[1].get());
  }
}

// The output size along one axis, stride (input - 1) + dilation (kernel - 1)
// + 1 - 2 pad, in 64 bits; it must be positive and fit in an int.
int DeconvolutionLayer::OutputSize(const std::string& axis_name, const Blob& in, int input,
                                   int kernel, int stride, int pad, int dilation) const {
  const int64_t size = int64_t(stride) * (int64_t(input) - 1) +
                       int64_t(dilation) * (int64_t(kernel) - 1) + 1 - 2 * int64_t(pad);
  if (size <= 0) {
    ThrowError(ErrorPrefix(), "pad ", pad, " leaves the output's ", axis_name,
               " empty for the input ", in.shape_string());
  }
  const int output = CheckedInt(
      ErrorPrefix(), StrCat("the output ", axis_name, " (stride ", stride, " x (input ", input,
                            " - 1) + dilation ", dilation, " x (kernel ", kernel,
                            " - 1) + 1 - 2 x pad ", pad, ")"),
      size);
  // The transposed convolution unfolds the output: its padded size and the
  // kernel's extent must fit in an int too.
  bool fits = true;
  ConvAxisOutput(ErrorPrefix(), "output " + axis_name, output, kernel, stride, pad, dilation,
                 &fits);
  return output;
}

void DeconvolutionLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  const Blob& in = *bottom[0];
  for (const Blob* b : bottom) {
    if (b->shape() != in.shape()) {
      ThrowError(ErrorPrefix(), "all bottoms must share one shape: ", in.shape_string(), " vs ",
                 b->shape_string());
    }
  }
  if (in.num_axes() != axis_ + 1 + spatial_axes_ || in.shape(axis_) != channels_) {
    ThrowError(ErrorPrefix(), "bottom ", in.shape_string(), " no longer has the ", channels_,
               " channels and ", spatial_axes_, " spatial axes the layer was set up with");
  }
  num_ = static_cast<int>(in.count(0, axis_));
  in_spatial_ = CheckedInt(ErrorPrefix(), "the input positions per image", in.count(axis_ + 1));
  std::vector<int> top_shape(in.shape().begin(), in.shape().begin() + axis_);
  top_shape.push_back(num_output_);
  if (nd_) {
    ConvGeometryNd& g = geometry_nd_;
    g.input.resize(spatial_axes_);
    for (int a = 0; a < spatial_axes_; ++a) {
      g.input[a] = OutputSize(StrCat("spatial axis ", a), in, in.shape(axis_ + 1 + a),
                              g.kernel[a], g.stride[a], g.pad[a], g.dilation[a]);
      top_shape.push_back(g.input[a]);
    }
  } else {
    ConvGeometry& g = geometry_;
    g.height = OutputSize("height", in, in.shape(axis_ + 1), g.kernel_h, g.stride_h, g.pad_h,
                          g.dilation_h);
    g.width = OutputSize("width", in, in.shape(axis_ + 2), g.kernel_w, g.stride_w, g.pad_w,
                         g.dilation_w);
    top_shape.push_back(g.height);
    top_shape.push_back(g.width);
  }
  for (Blob* t : top) t->Reshape(top_shape);
  columns_.resize(size_t(kernel_dim_) * group_ * in_spatial_);
}

void DeconvolutionLayer::UnfoldImage(const float* image, float* columns) const {
  if (nd_) {
    Im2colNd(image, geometry_nd_, in_spatial_, columns);
  } else {
    Im2col(image, geometry_, in_spatial_, columns);
  }
}

void DeconvolutionLayer::FoldImage(const float* columns, float* image) const {
  if (nd_) {
    Col2imNd(columns, geometry_nd_, in_spatial_, image);
  } else {
    Col2im(columns, geometry_, in_spatial_, image);
  }
}

#ifdef CORTADO_WITH_DNNL
void DeconvolutionLayer::ChooseCpuEngine() {
  const bool caffe_engine =
      layer_param_.convolution_param().engine() == caffe::ConvolutionParameter::CAFFE;
  const CpuConvEngine forced = CpuConvEngineFromEnvironment();
  use_dnnl_ = !caffe_engine && !nd_ && forced != CpuConvEngine::kCaffe &&
              (forced == CpuConvEngine::kDnnl ||
               DnnlConvolutionIsFaster(num_, geometry_, channels_, group_));
  if (use_dnnl_ && !dnnl_) {
    // The transposed convolution maps our output (geometry_) to our input:
    // channels_ filters, no bias (ours is added to the output here).
    dnnl_ = std::make_unique<DnnlConvolution>(channels_, group_, /*bias_term=*/false,
                                              ErrorPrefix());
  }
  if (!cpu_engine_logged_) {
    cpu_engine_logged_ = true;
    LOG(INFO) << ErrorPrefix() << "runs on the CPU with the "
              << (use_dnnl_ ? "oneDNN engine" : "im2col + BLAS engine")
              << (caffe_engine ? " (engine: CAFFE)"
                  : nd_        ? " (N-d or force_nd_im2col: the oneDNN engine is 2-D only)"
                  : forced != CpuConvEngine::kAuto ? " (CORTADO_CONV_ENGINE)"
                                                   : "");
  }
}

void DeconvolutionLayer::ForwardDnnl(const BlobVec& bottom, const BlobVec& top) {
  dnnl_->SetShape(num_, geometry_);
  const int64_t out_spatial = top[0]->count(axis_ + 1);
  for (size_t b = 0; b < bottom.size(); ++b) {
    float* y = top[b]->mutable_cpu_data();
    dnnl_->Backward(nullptr, *blobs_[0], bottom[b]->cpu_data(), nullptr, nullptr, y);
    if (!bias_term_) continue;
    const float* bias = blobs_[1]->cpu_data();
    for (int64_t plane = 0; plane < int64_t(num_) * num_output_; ++plane) {
      AddScalar(out_spatial, bias[plane % num_output_], y + plane * out_spatial);
    }
  }
}

void DeconvolutionLayer::BackwardDnnl(const BlobVec& top, const std::vector<bool>& propagate_down,
                                      const BlobVec& bottom) {
  dnnl_->SetShape(num_, geometry_);
  const int64_t out_spatial = top[0]->count(axis_ + 1);
  for (size_t b = 0; b < top.size(); ++b) {
    const float* dy = top[b]->cpu_diff();
    if (bias_term_ && param_propagate_down(1)) {
      float* bias_diff = blobs_[1]->mutable_cpu_diff();
      for (int64_t plane = 0; plane < int64_t(num_) * num_output_; ++plane) {
        const float* p = dy + plane * out_spatial;
        bias_diff[plane % num_output_] += LaneSum<float>(out_spatial, [p](int64_t j) { return p[j]; });
      }
    }
    // Our weight gradient is the transposed convolution's, with dy as its
    // input and our input as its output gradient.
    if (param_propagate_down(0)) {
      dnnl_->Backward(dy, *blobs_[0], bottom[b]->cpu_data(), blobs_[0]->mutable_cpu_diff(),
                      nullptr, nullptr);
    }
    if (propagate_down[b]) {
      dnnl_->Forward(dy, *blobs_[0], nullptr, bottom[b]->mutable_cpu_diff());
    }
  }
}
#endif  // CORTADO_WITH_DNNL

void DeconvolutionLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
#ifdef CORTADO_WITH_DNNL
  ChooseCpuEngine();
  if (use_dnnl_) {
    ForwardDnnl(bottom, top);
    return;
  }
#endif
  const float* weights = blobs_[0]->cpu_data();
  const float* bias = bias_term_ ? blobs_[1]->cpu_data() : nullptr;
  const int in_per_group = channels_ / group_;
  const int64_t in_dim = int64_t(channels_) * in_spatial_;
  const int64_t out_spatial = top[0]->count(axis_ + 1);
  const int64_t out_dim = num_output_ * out_spatial;
  for (size_t b = 0; b < bottom.size(); ++b) {
    for (int n = 0; n < num_; ++n) {
      const float* x = bottom[b]->cpu_data() + n * in_dim;
      float* y = top[b]->mutable_cpu_data() + n * out_dim;
      // columns = W^T x, then fold the columns into the output image.
      for (int g = 0; g < group_; ++g) {
        Gemm(Trans::kYes, Trans::kNo, kernel_dim_, in_spatial_, in_per_group, 1.f,
             weights + int64_t(g) * in_per_group * kernel_dim_,
             x + int64_t(g) * in_per_group * in_spatial_, 0.f,
             columns_.data() + int64_t(g) * kernel_dim_ * in_spatial_);
      }
      Set(out_dim, 0.f, y);
      FoldImage(columns_.data(), y);
      if (bias) {
        for (int m = 0; m < num_output_; ++m) AddScalar(out_spatial, bias[m], y + m * out_spatial);
      }
    }
  }
}

void DeconvolutionLayer::BackwardImpl(const BlobVec& top,
                                      const std::vector<bool>& propagate_down,
                                      const BlobVec& bottom) {
#ifdef CORTADO_WITH_DNNL
  if (use_dnnl_) {
    BackwardDnnl(top, propagate_down, bottom);
    return;
  }
#endif
  const float* weights = blobs_[0]->cpu_data();
  const bool weight_grad = param_propagate_down(0);
  const bool bias_grad = bias_term_ && param_propagate_down(1);
  const int in_per_group = channels_ / group_;
  const int64_t in_dim = int64_t(channels_) * in_spatial_;
  const int64_t out_spatial = top[0]->count(axis_ + 1);
  const int64_t out_dim = num_output_ * out_spatial;
  for (size_t b = 0; b < top.size(); ++b) {
    for (int n = 0; n < num_; ++n) {
      const float* dy = top[b]->cpu_diff() + n * out_dim;
      if (bias_grad) {
        float* bias_diff = blobs_[1]->mutable_cpu_diff();
        for (int m = 0; m < num_output_; ++m) {
          const float* plane = dy + m * out_spatial;
          bias_diff[m] += LaneSum<float>(out_spatial, [plane](int64_t j) { return plane[j]; });
        }
      }
      if (!weight_grad && !propagate_down[b]) continue;
      // The transposed convolution's gradient is an ordinary convolution of
      // dy: unfold it once for both the weight and the input gradient.
      UnfoldImage(dy, columns_.data());
      if (weight_grad) {
        const float* x = bottom[b]->cpu_data() + n * in_dim;
        float* weight_diff = blobs_[0]->mutable_cpu_diff();
        for (int g = 0; g < group_; ++g) {
          Gemm(Trans::kNo, Trans::kYes, in_per_group, kernel_dim_, in_spatial_, 1.f,
               x + int64_t(g) * in_per_group * in_spatial_,
               columns_.data() + int64_t(g) * kernel_dim_ * in_spatial_, 1.f,
               weight_diff + int64_t(g) * in_per_group * kernel_dim_);
        }
      }
      if (propagate_down[b]) {
        float* dx = bottom[b]->mutable_cpu_diff() + n * in_dim;
        for (int g = 0; g < group_; ++g) {
          Gemm(Trans::kNo, Trans::kNo, in_per_group, in_spatial_, kernel_dim_, 1.f,
               weights + int64_t(g) * in_per_group * kernel_dim_,
               columns_.data() + int64_t(g) * kernel_dim_ * in_spatial_, 0.f,
               dx + int64_t(g) * in_per_group * in_spatial_);
        }
      }
    }
  }
}

#ifdef CORTADO_WITH_CUDA
void DeconvolutionLayer::UnfoldImageGpu(const float* image, float* columns) const {
  if (nd_) {
    gpu::Im2colNd(image, geometry_nd_, in_spatial_, columns);
  } else {
    gpu::Im2col(image, geometry_, in_spatial_, columns);
  }
}

void DeconvolutionLayer::FoldImageGpu(const float* columns, float* image) const {
  if (nd_) {
    gpu::Col2imNd(columns, geometry_nd_, in_spatial_, image);
  } else {
    gpu::Col2im(columns, geometry_, in_spatial_, image);
  }
}

// The CPU path's steps per image with device primitives; the column matrix
// lives in the thread's shared CUDA workspace.
void DeconvolutionLayer::ForwardGpu(const BlobVec& bottom, const BlobVec& top) {
  const float* weights = blobs_[0]->gpu_data();
  const int in_per_group = channels_ / group_;
  const int64_t in_dim = int64_t(channels_) * in_spatial_;
  const int64_t out_spatial = top[0]->count(axis_ + 1);
  const int64_t out_dim = num_output_ * out_spatial;
  float* columns = static_cast<float*>(
      cuda::Workspace(sizeof(float) * size_t(kernel_dim_) * group_ * in_spatial_));
  for (size_t b = 0; b < bottom.size(); ++b) {
    const float* x = bottom[b]->gpu_data();
    float* y = top[b]->mutable_gpu_data();
    gpu::Set(top[b]->count(), 0.f, y);
    for (int n = 0; n < num_; ++n) {
      for (int g = 0; g < group_; ++g) {
        gpu::Gemm(Trans::kYes, Trans::kNo, kernel_dim_, in_spatial_, in_per_group, 1.f,
                  weights + int64_t(g) * in_per_group * kernel_dim_,
                  x + n * in_dim + int64_t(g) * in_per_group * in_spatial_, 0.f,
                  columns + int64_t(g) * kernel_dim_ * in_spatial_);
      }
      FoldImageGpu(columns, y + n * out_dim);
    }
    if (bias_term_) {
      ChannelBiasForwardGpu(num_, num_output_, out_spatial, blobs_[1]->gpu_data(), y);
    }
  }
}

void DeconvolutionLayer::BackwardGpu(const BlobVec& top,
                                     const std::vector<bool>& propagate_down,
                                     const BlobVec& bottom) {
  const float* weights = blobs_[0]->gpu_data();
  const bool weight_grad = param_propagate_down(0);
  const bool bias_grad = bias_term_ && param_propagate_down(1);
  const int in_per_group = channels_ / group_;
  const int64_t in_dim = int64_t(channels_) * in_spatial_;
  const int64_t out_spatial = top[0]->count(axis_ + 1);
  const int64_t out_dim = num_output_ * out_spatial;
  float* columns = static_cast<float*>(
      cuda::Workspace(sizeof(float) * size_t(kernel_dim_) * group_ * in_spatial_));
  for (size_t b = 0; b < top.size(); ++b) {
    const float* dy = top[b]->gpu_diff();
    if (bias_grad) {
      ChannelBiasBackwardGpu(num_, num_output_, out_spatial, dy, blobs_[1]->mutable_gpu_diff());
    }
    if (!weight_grad && !propagate_down[b]) continue;
    const float* x = weight_grad ? bottom[b]->gpu_data() : nullptr;
    float* weight_diff = weight_grad ? blobs_[0]->mutable_gpu_diff() : nullptr;
    float* dx = propagate_down[b] ? bottom[b]->mutable_gpu_diff() : nullptr;
    for (int n = 0; n < num_; ++n) {
      UnfoldImageGpu(dy + n * out_dim, columns);
      for (int g = 0; g < group_; ++g) {
        const float* group_columns = columns + int64_t(g) * kernel_dim_ * in_spatial_;
        if (weight_grad) {
          gpu::Gemm(Trans::kNo, Trans::kYes, in_per_group, kernel_dim_, in_spatial_, 1.f,
                    x + n * in_dim + int64_t(g) * in_per_group * in_spatial_, group_columns, 1.f,
                    weight_diff + int64_t(g) * in_per_group * kernel_dim_);
        }
        if (dx) {
          gpu::Gemm(Trans::kNo, Trans::kNo, in_per_group, in_spatial_, kernel_dim_, 1.f,
                    weights + int64_t(g) * in_per_group * kernel_dim_, group_columns, 0.f,
                    dx + n * in_dim + int64_t(g) * in_per_group * in_spatial_);
        }
      }
    }
  }
}
#endif  // CORTADO_WITH_CUDA

}  // namespace

CORTADO_REGISTER_LAYER(Deconvolution, DeconvolutionLayer)

}  // namespace cortado
