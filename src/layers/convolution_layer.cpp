// Convolution: cross-correlation with learned filters over 2 (or any number
// of) spatial axes, computed as one wide matrix product per group over a
// chunk of images unfolded side by side.
#include <algorithm>
#include <functional>
#include <vector>

#include "cortado/conv_param.hpp"
#include "cortado/filler.hpp"
#include "cortado/im2col.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/parallel.hpp"
#include "depthwise_convolution.hpp"
#include "../util/lane_sum.hpp"

#ifdef CORTADO_WITH_DNNL
#include "dnnl_convolution.hpp"
#endif

#ifdef CORTADO_WITH_CUDA
#include "../util/channel_bias.hpp"
#include "epilogue_gpu.hpp"
#include "cortado/cuda.hpp"
#include "cortado/im2col_gpu.hpp"
#include "cortado/math_gpu.hpp"
#include "cudnn_convolution.hpp"
#endif

namespace cortado {
namespace {

// Images are processed in chunks whose unfolded columns (at most 64 KB, or
// one image's) stay in a core's L2 cache between im2col and the GEMM that
// reads them, even with other processes sharing the cache (measured on
// LeNet: 128 KB chunks train 25% faster than 1 MB ones, and 64 KB, one image
// of its conv1, take that layer from 0.46 / 0.55 ms to 0.34 / 0.46 forward /
// backward, with no scatter of a multi-image product into NCHW); chunks run
// in parallel, each thread with its own scratch buffers.
constexpr int64_t kChunkColumnFloats = int64_t(16) << 10;

// A training forward keeps the whole batch's column matrix for the weight
// gradient when it takes at most this many floats (16 MiB), instead of
// unfolding every image again in Backward: LeNet's conv1 and conv2 keep
// 3.7 and 8.2 MB, and their unfolding was a seventh of a training pass.
// Larger layers unfold again: their columns would not stay in the cache, and
// the memory would grow with the batch.
constexpr int64_t kMaxSavedColumnFloats = int64_t(4) << 20;

// Per-thread scratch shared by every convolution: unfolded columns and the
// channel-major product of one chunk.
struct ChunkScratch {
  std::vector<float> columns;
  std::vector<float> product;
};

ChunkScratch& ThreadScratch() {
  thread_local ChunkScratch scratch;
  return scratch;
}

float* Reserve(std::vector<float>* buffer, size_t floats) {
  if (buffer->size() < floats) buffer->resize(floats);
  return buffer->data();
}

float Sum(const float* x, int n) {
  return LaneSum<float>(n, [x](int64_t i) { return x[i]; });
}

}  // namespace

class ConvolutionLayer : public Layer {
 public:
  explicit ConvolutionLayer(const caffe::LayerParameter& param) : Layer(param) {}
  // On a CUDA device: the cuDNN engine unless convolution_param.engine is
  // CAFFE, which keeps the im2col + cuBLAS engine.
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda | kLayerCudnn;
  const char* type() const override { return "Convolution"; }
  // Backward reads the input (weight gradient), never the output.
  bool BackwardReadsTopData(int) const override { return false; }
  int MinBottomBlobs() const override { return 1; }
  int MinTopBlobs() const override { return 1; }
  bool EqualNumBottomTopBlobs() const override { return true; }
  bool AcceptsEpilogue() const override { return true; }

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
  void ReadGeometry(const Blob& bottom);
  std::vector<int> WeightShape() const;
  // Reads the spatial size of a 2-D bottom and appends the output's to top_shape.
  void ReshapeTwoD(const Blob& in, std::vector<int>* top_shape);
  // Unfolds one image into columns rows `row_stride` apart, and folds back.
  void UnfoldImage(const float* image, int64_t row_stride, float* columns) const;
  void FoldImage(const float* columns, int64_t row_stride, float* image) const;
  void CheckPreloadedBlobs() const;
  // Runs body(first_image, image_count) over the batch in chunks of chunk_
  // images, chunks spread over the thread pool in `slots` contiguous runs;
  // body also gets its run's slot index (for per-slot partial sums).
  void ForEachChunk(int slots, const std::function<void(int slot, int first, int n)>& body) const;
  int Slots() const;
  // Unfolds images [first, first + n) of `data` side by side into a
  // (kernel_dim_ * group_) x (n * out_spatial_) matrix; a 1x1 convolution of
  // a single image is its own column matrix.
  const float* Unfold(const float* data, int first, int n, std::vector<float>* buffer) const;
  // Unfold into `columns`, which has room for them.
  const float* UnfoldInto(const float* data, int first, int n, float* columns) const;
  // Whether this forward keeps its columns for Backward (see
  // kMaxSavedColumnFloats): a training net's single-bottom im2col layer whose
  // weights learn.
  bool SavesColumns(size_t bottoms) const;
  // Copies rows of `n` images of an NCHW blob into one M x (n * HW) matrix.
  void Gather(const float* nchw, int first, int n, float* matrix) const;
  // The inverse of Gather, adding bias[m] to row m on the way (if given)
  // and applying the epilogue's addend and ReLU (if given).
  void Scatter(const float* matrix, const float* bias, const Epilogue* post, const float* add,
               int first, int n, float* nchw) const;
  // The weights and bias Forward uses: the epilogue's folded ones if any.
  const Blob* ForwardWeights() const {
    return epilogue_ && epilogue_->weights ? epilogue_->weights : blobs_[0].get();
  }
  const Blob* ForwardBias() const {
    if (epilogue_ && epilogue_->weights) return epilogue_->bias;
    return bias_term_ ? blobs_[1].get() : nullptr;
  }
  // The epilogue when it has element-wise work (an addend or ReLU), else null.
  const Epilogue* PostOps() const {
    return epilogue_ && (epilogue_->addend || epilogue_->relu) ? epilogue_ : nullptr;
  }

  int axis_ = 1;
  int num_ = 0;         // images: product of the axes before `axis_`
  int channels_ = 0;
  int num_output_ = 0;
  int group_ = 1;
  bool bias_term_ = true;
  bool is_1x1_ = false;
  // One filter per channel (MobileNet): direct kernels instead of GEMMs.
  bool depthwise_ = false;
  ConvGeometry geometry_;  // over all channels_; groups are row blocks
  // Anything but two spatial axes (or force_nd_im2col) takes the general
  // N-d unfolding in geometry_nd_; the 2-D path keeps its fast kernels.
  int spatial_axes_ = 2;
  bool nd_ = false;
  ConvGeometryNd geometry_nd_;
  int out_spatial_ = 0;    // output_h * output_w
  int kernel_dim_ = 0;     // (channels_ / group_) * kernel_h * kernel_w
  int64_t bottom_dim_ = 0;
  int64_t top_dim_ = 0;
  int chunk_ = 1;          // images per GEMM
  // The last training forward's column matrices, chunk after chunk, and the
  // input they unfold (null when they are not valid): Backward uses them
  // when its input is still that one, so a backward computes the gradient
  // of the forward before it even if the input's values were changed in
  // between.
  std::vector<float> saved_columns_;
  const float* saved_columns_of_ = nullptr;
#ifdef CORTADO_WITH_DNNL
  // Picks the CPU engine for the current shape at each CPU forward (backward
  // follows it); logs the first choice.
  void ChooseCpuEngine();
  void BackwardDnnl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom);

  bool use_dnnl_ = false;
  bool cpu_engine_logged_ = false;
  std::unique_ptr<DnnlConvolution> dnnl_;  // built the first time it is chosen
#endif
#ifdef CORTADO_WITH_CUDA
  // Picks the GPU engine on the first GPU pass: the device is set after
  // LayerSetUp, so set-up cannot know it yet.
  void ChooseGpuEngine();
  // The im2col engine's column matrix of one image, in the CUDA workspace.
  float* GpuColumns() const;
  // UnfoldImage/FoldImage on the device.
  void UnfoldImageGpu(const float* image, float* columns) const;
  void FoldImageGpu(const float* columns, float* image) const;
  void ForwardGpuIm2col(const float* in, const float* weights, float* out) const;
  void BackwardGpuIm2col(const float* in, const float* top_diff, const float* weights,
                         float* weight_diff, float* in_diff) const;

  bool gpu_engine_chosen_ = false;
  std::unique_ptr<CudnnConvolution> cudnn_;  // null: the im2col engine
#endif
};

void ConvolutionLayer::ReadGeometry(const Blob& bottom) {
  const caffe::ConvolutionParameter& p = layer_param_.convolution_param();
  axis_ = bottom.CanonicalAxisIndex(p.axis());
  spatial_axes_ = bottom.num_axes() - axis_ - 1;
  if (spatial_axes_ < 1) {
    ThrowError(ErrorPrefix(), "bottom ", bottom.shape_string(),
               " has no spatial axis after the channel axis (axis ", axis_, ")");
  }
  nd_ = spatial_axes_ != 2 || p.force_nd_im2col();
  if (!nd_) {
    ReadConvWindow(p, ErrorPrefix(), &geometry_);
    const ConvGeometry& g = geometry_;
    is_1x1_ = g.kernel_h == 1 && g.kernel_w == 1 && g.stride_h == 1 && g.stride_w == 1 &&
              g.pad_h == 0 && g.pad_w == 0;
    return;
  }
  ReadConvWindowNd(p, ErrorPrefix(), spatial_axes_, &geometry_nd_);
  const ConvGeometryNd& g = geometry_nd_;
  is_1x1_ = true;
  for (int a = 0; a < spatial_axes_; ++a) {
    is_1x1_ = is_1x1_ && g.kernel[a] == 1 && g.stride[a] == 1 && g.pad[a] == 0;
  }
}

std::vector<int> ConvolutionLayer::WeightShape() const {
  std::vector<int> shape{num_output_, channels_ / group_};
  if (nd_) {
    shape.insert(shape.end(), geometry_nd_.kernel.begin(), geometry_nd_.kernel.end());
  } else {
    shape.push_back(geometry_.kernel_h);
    shape.push_back(geometry_.kernel_w);
  }
  return shape;
}

void ConvolutionLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::ConvolutionParameter& p = layer_param_.convolution_param();
  ReadGeometry(*bottom[0]);
  channels_ = bottom[0]->shape(axis_);
  num_output_ = static_cast<int>(p.num_output());
  group_ = static_cast<int>(p.group());
  bias_term_ = p.bias_term();
  if (num_output_ <= 0) ThrowError(ErrorPrefix(), "num_output must be positive");
  if (group_ <= 0) ThrowError(ErrorPrefix(), "group must be positive");
  if (channels_ % group_ != 0) {
    ThrowError(ErrorPrefix(), "input channels (", channels_, ", bottom ",
               bottom[0]->shape_string(), ") must be divisible by group (", group_, ")");
  }
  if (num_output_ % group_ != 0) {
    ThrowError(ErrorPrefix(), "num_output (", num_output_, ") must be divisible by group (",
               group_, ")");
  }
  geometry_.channels = channels_;
  geometry_nd_.channels = channels_;
  // Checked factor by factor: each is an int, so no product overflows.
  const std::vector<int> kernel = nd_ ? geometry_nd_.kernel
                                      : std::vector<int>{geometry_.kernel_h, geometry_.kernel_w};
  int64_t kernel_dim = channels_ / group_;
  for (int k : kernel) {
    kernel_dim = CheckedInt(ErrorPrefix(), "the weights per output channel (channels / group "
                            "x the kernel's taps)", kernel_dim * k);
  }
  kernel_dim_ = static_cast<int>(kernel_dim);

  if (!blobs_.empty()) {
    CheckPreloadedBlobs();
  } else {
    blobs_.push_back(std::make_unique<Blob>(WeightShape()));
    FillBlob(p.weight_filler(), blobs_[0].get());
    if (bias_term_) {
      blobs_.push_back(std::make_unique<Blob>(std::vector<int>{num_output_}));
      FillBlob(p.bias_filler(), blobs_[1].get());
    }
  }
}

void ConvolutionLayer::CheckPreloadedBlobs() const {
  const size_t expected = bias_term_ ? 2 : 1;
  if (blobs_.size() != expected) {
    ThrowError(ErrorPrefix(), "expects ", expected, " parameter blob(s) (weights",
               bias_term_ ? ", bias" : "", "), got ", blobs_.size());
  }
  const std::vector<int> weight_shape = WeightShape();
  if (blobs_[0]->shape() != weight_shape) {
    ThrowError(ErrorPrefix(), "weights have shape ", blobs_[0]->shape_string(),
               " but the layer needs ", Blob(weight_shape).shape_string());
  }
  if (bias_term_ && blobs_[1]->count() != num_output_) {
    ThrowError(ErrorPrefix(), "bias has shape ", blobs_[1]->shape_string(), " but needs (",
               num_output_, ")");
  }
}

void ConvolutionLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  saved_columns_of_ = nullptr;  // a new shape unfolds differently
  for (size_t i = 1; i < bottom.size(); ++i) {
    if (bottom[i]->shape() != bottom[0]->shape()) {
      ThrowError(ErrorPrefix(), "all bottoms must share one shape: bottom 0 is ",
                 bottom[0]->shape_string(), ", bottom ", i, " is ",
                 bottom[i]->shape_string());
    }
  }
  const Blob& in = *bottom[0];
  if (in.num_axes() != axis_ + 1 + spatial_axes_ || in.shape(axis_) != channels_) {
    ThrowError(ErrorPrefix(), "bottom ", in.shape_string(), " no longer matches the ",
               channels_, " input channels and ", spatial_axes_,
               " spatial axes the layer was set up with");
  }
  num_ = static_cast<int>(in.count(0, axis_));
  bottom_dim_ = in.count(axis_);
  std::vector<int> top_shape(in.shape().begin(), in.shape().begin() + axis_);
  top_shape.push_back(num_output_);
  if (nd_) {
    ConvGeometryNd& g = geometry_nd_;
    g.input.assign(in.shape().begin() + axis_ + 1, in.shape().end());
    unusable_shape_.clear();
    int64_t out_spatial = 1;
    for (int a = 0; a < spatial_axes_; ++a) {
      bool fits = true;
      const int out = ConvAxisOutput(ErrorPrefix(), StrCat("spatial axis ", a), g.input[a],
                                     g.kernel[a], g.stride[a], g.pad[a], g.dilation[a], &fits);
      if (!fits && unusable_shape_.empty()) {
        unusable_shape_ = StrCat("kernel_size ", g.kernel[a], " (dilation ", g.dilation[a],
                                 ", pad ", g.pad[a], ") on spatial axis ", a,
                                 " does not fit the input ", in.shape_string(),
                                 ": the output would be empty");
      }
      top_shape.push_back(out);
      out_spatial *= out;
    }
    depthwise_ = false;
    out_spatial_ = CheckedInt(ErrorPrefix(), "the number of output positions per image",
                              out_spatial);
  } else {
    ReshapeTwoD(in, &top_shape);
  }
  top_dim_ = int64_t(num_output_) * out_spatial_;
  for (Blob* t : top) t->Reshape(top_shape);
  const int64_t image_columns = int64_t(kernel_dim_) * group_ * out_spatial_;
  int64_t chunk = kChunkColumnFloats / std::max<int64_t>(image_columns, 1);
  // Leave at least one chunk per thread when the batch allows it.
  const int threads = NumThreads();
  if (num_ >= 2 * threads) chunk = std::min<int64_t>(chunk, (num_ + threads - 1) / threads);
  chunk_ = static_cast<int>(std::clamp<int64_t>(chunk, 1, std::max(num_, 1)));
}

void ConvolutionLayer::ReshapeTwoD(const Blob& in, std::vector<int>* top_shape) {
  ConvGeometry& g = geometry_;
  g.height = in.shape(axis_ + 1);
  g.width = in.shape(axis_ + 2);
  // A kernel larger than the input builds (a placeholder input, as in Caffe)
  // and Forward refuses it; see Layer::unusable_shape_.
  bool fits_h = true, fits_w = true;
  const int out_h = ConvAxisOutput(ErrorPrefix(), "height", g.height, g.kernel_h, g.stride_h,
                                   g.pad_h, g.dilation_h, &fits_h);
  const int out_w = ConvAxisOutput(ErrorPrefix(), "width", g.width, g.kernel_w, g.stride_w,
                                   g.pad_w, g.dilation_w, &fits_w);
  unusable_shape_.clear();
  if (!fits_h || !fits_w) {
    unusable_shape_ = StrCat("kernel ", g.kernel_h, "x", g.kernel_w, " (dilation ", g.dilation_h,
                             "x", g.dilation_w, ", pad ", g.pad_h, "x", g.pad_w,
                             ") does not fit the input ", in.shape_string(),
                             ": the output would be empty");
  }
  depthwise_ = group_ > 1 && group_ == channels_ && num_output_ == channels_;
  out_spatial_ = CheckedInt(ErrorPrefix(), "the number of output positions per image",
                            int64_t(out_h) * out_w);
  top_shape->push_back(out_h);
  top_shape->push_back(out_w);
}

int ConvolutionLayer::Slots() const {
  const int chunks = (num_ + chunk_ - 1) / chunk_;
  return std::max(1, std::min(NumThreads(), chunks));
}

void ConvolutionLayer::ForEachChunk(
    int slots, const std::function<void(int slot, int first, int n)>& body) const {
  const int chunks = (num_ + chunk_ - 1) / chunk_;
  auto run_slot = [&](int slot) {
    const int begin = static_cast<int>(int64_t(chunks) * slot / slots);
    const int end = static_cast<int>(int64_t(chunks) * (slot + 1) / slots);
    for (int c = begin; c < end; ++c) {
      const int first = c * chunk_;
      body(slot, first, std::min(chunk_, num_ - first));
    }
  };
  // A single slot runs on this thread, so the GEMMs inside can use the pool.
  if (slots == 1) {
    run_slot(0);
    return;
  }
  ParallelFor(0, slots, [&](int64_t lo, int64_t hi) {
    for (int64_t slot = lo; slot < hi; ++slot) run_slot(static_cast<int>(slot));
  });
}

const float* ConvolutionLayer::Unfold(const float* data, int first, int n,
                                      std::vector<float>* buffer) const {
  if (is_1x1_ && n == 1) return data + first * bottom_dim_;
  return UnfoldInto(data, first, n,
                    Reserve(buffer, size_t(kernel_dim_) * group_ * n * out_spatial_));
}

const float* ConvolutionLayer::UnfoldInto(const float* data, int first, int n,
                                          float* columns) const {
  if (is_1x1_ && n == 1) return data + first * bottom_dim_;
  const int64_t width = int64_t(n) * out_spatial_;
  for (int i = 0; i < n; ++i) {
    UnfoldImage(data + (first + i) * bottom_dim_, width, columns + i * out_spatial_);
  }
  return columns;
}

bool ConvolutionLayer::SavesColumns(size_t bottoms) const {
  return phase() == caffe::TRAIN && bottoms == 1 && !depthwise_ && !(is_1x1_ && chunk_ == 1) &&
         param_propagate_down(0) &&
         int64_t(num_) * kernel_dim_ * group_ * out_spatial_ <= kMaxSavedColumnFloats;
}

void ConvolutionLayer::UnfoldImage(const float* image, int64_t row_stride,
                                   float* columns) const {
  if (nd_) {
    Im2colNd(image, geometry_nd_, row_stride, columns);
  } else {
    Im2col(image, geometry_, row_stride, columns);
  }
}

void ConvolutionLayer::FoldImage(const float* columns, int64_t row_stride, float* image) const {
  if (nd_) {
    Col2imNd(columns, geometry_nd_, row_stride, image);
  } else {
    Col2im(columns, geometry_, row_stride, image);
  }
}

void ConvolutionLayer::Gather(const float* nchw, int first, int n, float* matrix) const {
  const int64_t width = int64_t(n) * out_spatial_;
  for (int i = 0; i < n; ++i) {
    const float* image = nchw + (first + i) * top_dim_;
    for (int m = 0; m < num_output_; ++m) {
      Copy(out_spatial_, image + int64_t(m) * out_spatial_, matrix + m * width + i * out_spatial_);
    }
  }
}

void ConvolutionLayer::Scatter(const float* matrix, const float* bias, const Epilogue* post,
                               const float* add, int first, int n, float* nchw) const {
  const int64_t width = int64_t(n) * out_spatial_;
  for (int i = 0; i < n; ++i) {
    float* image = nchw + (first + i) * top_dim_;
    for (int m = 0; m < num_output_; ++m) {
      const float* from = matrix + m * width + i * out_spatial_;
      float* to = image + int64_t(m) * out_spatial_;
      const float b = bias ? bias[m] : 0.f;
      if (!post) {
        for (int j = 0; j < out_spatial_; ++j) to[j] = from[j] + b;
        continue;
      }
      const float* a = add ? add + (first + i) * top_dim_ + int64_t(m) * out_spatial_ : nullptr;
      post->ApplyRow(from, b, a, out_spatial_, to);
    }
  }
}

#ifdef CORTADO_WITH_DNNL
void ConvolutionLayer::ChooseCpuEngine() {
  const bool caffe_engine =
      layer_param_.convolution_param().engine() == caffe::ConvolutionParameter::CAFFE;
  const CpuConvEngine forced = CpuConvEngineFromEnvironment();
  const char* why = "";
  if (caffe_engine) {
    why = " (engine: CAFFE)";
  } else if (nd_) {
    why = " (N-d or force_nd_im2col: the oneDNN engine is 2-D only)";
  } else if (forced != CpuConvEngine::kAuto) {
    why = " (CORTADO_CONV_ENGINE)";
  }
  use_dnnl_ = !caffe_engine && !nd_ && forced != CpuConvEngine::kCaffe &&
              (forced == CpuConvEngine::kDnnl ||
               DnnlConvolutionIsFaster(num_, geometry_, num_output_, group_));
  if (use_dnnl_ && !dnnl_) {
    dnnl_ = std::make_unique<DnnlConvolution>(num_output_, group_, bias_term_, ErrorPrefix());
  }
  if (!cpu_engine_logged_) {
    cpu_engine_logged_ = true;
    LOG(INFO) << ErrorPrefix() << "runs on the CPU with the "
              << (use_dnnl_ ? "oneDNN engine"
                  : depthwise_ ? "depthwise engine"
                               : "im2col + BLAS engine")
              << why;
  }
}

void ConvolutionLayer::BackwardDnnl(const BlobVec& top, const std::vector<bool>& propagate_down,
                                    const BlobVec& bottom) {
  dnnl_->SetShape(num_, geometry_);
  for (size_t b = 0; b < top.size(); ++b) {
    const float* top_diff = top[b]->cpu_diff();
    float* weight_diff = param_propagate_down(0) ? blobs_[0]->mutable_cpu_diff() : nullptr;
    float* bias_diff =
        bias_term_ && param_propagate_down(1) ? blobs_[1]->mutable_cpu_diff() : nullptr;
    float* bottom_diff = propagate_down[b] ? bottom[b]->mutable_cpu_diff() : nullptr;
    dnnl_->Backward(bottom[b]->cpu_data(), *blobs_[0], top_diff, weight_diff, bias_diff,
                    bottom_diff);
  }
}
#endif  // CORTADO_WITH_DNNL

void ConvolutionLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const float* weights = ForwardWeights()->cpu_data();
  const Blob* bias_blob = ForwardBias();
  const float* bias = bias_blob ? bias_blob->cpu_data() : nullptr;
  const Epilogue* post = PostOps();
  const float* add = post && post->addend ? post->addend->cpu_data() : nullptr;
  saved_columns_of_ = nullptr;
#ifdef CORTADO_WITH_DNNL
  ChooseCpuEngine();
  if (use_dnnl_) {
    dnnl_->SetShape(num_, geometry_);
    // The engine applies the bias (the layer's or a folded one), the
    // shortcut sum and ReLU.
    for (size_t b = 0; b < bottom.size(); ++b) {
      dnnl_->Forward(bottom[b]->cpu_data(), *ForwardWeights(), bias, top[b]->mutable_cpu_data(),
                     post, add);
    }
    return;
  }
#endif
  const int out_per_group = num_output_ / group_;
  const int64_t image_columns = int64_t(kernel_dim_) * group_ * out_spatial_;
  const bool save = SavesColumns(bottom.size());
  float* saved = save ? Reserve(&saved_columns_, size_t(num_) * image_columns) : nullptr;
  for (size_t b = 0; b < bottom.size(); ++b) {
    const float* in = bottom[b]->cpu_data();
    float* out = top[b]->mutable_cpu_data();
    if (depthwise_) {
      DepthwiseForward(in, weights, bias, geometry_, num_, out, post, add);
      continue;
    }
    ForEachChunk(Slots(), [&](int, int first, int n) {
      ChunkScratch& scratch = ThreadScratch();
      const int64_t width = int64_t(n) * out_spatial_;
      const float* columns = saved ? UnfoldInto(in, first, n, saved + first * image_columns)
                                   : Unfold(in, first, n, &scratch.columns);
      // A single image's product is already in NCHW order; a chunk's is
      // channel-major across images and is scattered afterwards.
      float* result = n > 1 ? Reserve(&scratch.product, size_t(top_dim_) * n)
                            : out + first * top_dim_;
      for (int g = 0; g < group_; ++g) {
        Gemm(Trans::kNo, Trans::kNo, out_per_group, static_cast<int>(width), kernel_dim_, 1.f,
             weights + int64_t(g) * out_per_group * kernel_dim_,
             columns + int64_t(g) * kernel_dim_ * width, 0.f,
             result + int64_t(g) * out_per_group * width);
      }
      if (n > 1) {
        Scatter(result, bias, post, add, first, n, out);
      } else if (post) {
        // One image: result is the output itself, and the addend's image
        // has the same layout.
        for (int m = 0; m < num_output_; ++m) {
          float* y = result + int64_t(m) * out_spatial_;
          const float* a = add ? add + first * top_dim_ + int64_t(m) * out_spatial_ : nullptr;
          const float b = bias ? bias[m] : 0.f;
          post->ApplyRow(y, b, a, out_spatial_, y);
        }
      } else if (bias) {
        // A plain loop: this already runs on one thread of the team, and
        // AddScalar's parallel dispatch per row cost more than the adds.
        for (int m = 0; m < num_output_; ++m) {
          float* y = result + m * width;
          for (int64_t i = 0; i < width; ++i) y[i] += bias[m];
        }
      }
    });
  }
  if (save) saved_columns_of_ = bottom[0]->cpu_data();
}

void ConvolutionLayer::BackwardImpl(const BlobVec& top,
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
  const int out_per_group = num_output_ / group_;
  const int64_t weight_count = blobs_[0]->count();
  for (size_t b = 0; b < top.size(); ++b) {
    const float* top_diff = top[b]->cpu_diff();
    if (bias_grad) {
      float* bias_diff = blobs_[1]->mutable_cpu_diff();
      // Threads own disjoint output channels, so no two write one sum.
      ParallelFor(0, num_output_, [&](int64_t lo, int64_t hi) {
        for (int64_t m = lo; m < hi; ++m) {
          float sum = 0;
          for (int i = 0; i < num_; ++i) sum += Sum(top_diff + i * top_dim_ + m * out_spatial_, out_spatial_);
          bias_diff[m] += sum;
        }
      });
    }
    const bool data_grad = propagate_down[b];
    if (!weight_grad && !data_grad) continue;
    const float* in = bottom[b]->cpu_data();
    float* in_diff = data_grad ? bottom[b]->mutable_cpu_diff() : nullptr;
    if (depthwise_) {
      DepthwiseBackward(in, weights, top_diff, geometry_, num_,
                        weight_grad ? blobs_[0]->mutable_cpu_diff() : nullptr, in_diff);
      continue;
    }
    // The forward's columns, when it kept them for this very input.
    const float* saved =
        saved_columns_of_ != nullptr && saved_columns_of_ == in && top.size() == 1
            ? saved_columns_.data()
            : nullptr;
    const int64_t image_columns = int64_t(kernel_dim_) * group_ * out_spatial_;
    // Each slot sums its chunks' weight gradients on its own; the partial
    // sums are added in slot order, so results do not depend on timing.
    const int slots = Slots();
    std::vector<std::vector<float>> partial(weight_grad ? slots : 0);
    ForEachChunk(slots, [&](int slot, int first, int n) {
      ChunkScratch& scratch = ThreadScratch();
      const int64_t width = int64_t(n) * out_spatial_;
      const float* out_diff = top_diff + first * top_dim_;
      if (n > 1) {
        float* gathered = Reserve(&scratch.product, size_t(top_dim_) * n);
        Gather(top_diff, first, n, gathered);
        out_diff = gathered;
      }
      if (weight_grad) {
        if (partial[slot].empty()) partial[slot].assign(weight_count, 0.f);
        // A 1x1 layer's single-image chunk is its own column matrix, so
        // its forward saved nothing for it (see Unfold).
        const float* columns = !saved                ? Unfold(in, first, n, &scratch.columns)
                               : is_1x1_ && n == 1 ? in + first * bottom_dim_
                                                     : saved + first * image_columns;
        for (int g = 0; g < group_; ++g) {
          Gemm(Trans::kNo, Trans::kYes, out_per_group, kernel_dim_, static_cast<int>(width), 1.f,
               out_diff + int64_t(g) * out_per_group * width,
               columns + int64_t(g) * kernel_dim_ * width, 1.f,
               partial[slot].data() + int64_t(g) * out_per_group * kernel_dim_);
        }
      }
      if (data_grad) {
        const bool direct = is_1x1_ && n == 1;
        float* column_diff = direct ? in_diff + first * bottom_dim_
                                    : Reserve(&scratch.columns, size_t(kernel_dim_) * group_ * width);
        for (int g = 0; g < group_; ++g) {
          Gemm(Trans::kYes, Trans::kNo, kernel_dim_, static_cast<int>(width), out_per_group, 1.f,
               weights + int64_t(g) * out_per_group * kernel_dim_,
               out_diff + int64_t(g) * out_per_group * width, 0.f,
               column_diff + int64_t(g) * kernel_dim_ * width);
        }
        if (!direct) {
          for (int i = 0; i < n; ++i) {
            float* image_diff = in_diff + (first + i) * bottom_dim_;
            Set(bottom_dim_, 0.f, image_diff);
            FoldImage(column_diff + i * out_spatial_, width, image_diff);
          }
        }
      }
    });
    if (weight_grad) {
      float* weight_diff = blobs_[0]->mutable_cpu_diff();
      for (const std::vector<float>& p : partial) {
        if (!p.empty()) Axpy(weight_count, 1.f, p.data(), weight_diff);
      }
    }
  }
}

#ifdef CORTADO_WITH_CUDA
void ConvolutionLayer::ChooseGpuEngine() {
  if (gpu_engine_chosen_) return;
  gpu_engine_chosen_ = true;
  const bool caffe_engine =
      layer_param_.convolution_param().engine() == caffe::ConvolutionParameter::CAFFE;
  // The cuDNN engine here describes 2-D convolutions only; other spatial
  // ranks (and force_nd_im2col) unfold with the N-d kernels.
  if (!caffe_engine && !nd_) {
    cudnn_ = std::make_unique<CudnnConvolution>(num_output_, group_, ErrorPrefix());
  }
  const char* why = caffe_engine ? " (engine: CAFFE)"
                    : nd_        ? " (N-d or force_nd_im2col: the cuDNN engine is 2-D only)"
                                 : "";
  LOG(INFO) << ErrorPrefix() << "runs on " << device().ToString() << " with the "
            << (cudnn_ ? "cuDNN engine" : "im2col + cuBLAS engine") << why;
}

void ConvolutionLayer::UnfoldImageGpu(const float* image, float* columns) const {
  if (nd_) {
    gpu::Im2colNd(image, geometry_nd_, out_spatial_, columns);
  } else {
    gpu::Im2col(image, geometry_, out_spatial_, columns);
  }
}

void ConvolutionLayer::FoldImageGpu(const float* columns, float* image) const {
  if (nd_) {
    gpu::Col2imNd(columns, geometry_nd_, out_spatial_, image);
  } else {
    gpu::Col2im(columns, geometry_, out_spatial_, image);
  }
}

float* ConvolutionLayer::GpuColumns() const {
  return static_cast<float*>(
      cuda::Workspace(sizeof(float) * size_t(kernel_dim_) * group_ * out_spatial_));
}

// Per image: unfold, then one GEMM per group (a 1x1 convolution's image is
// its own column matrix).
void ConvolutionLayer::ForwardGpuIm2col(const float* in, const float* weights,
                                        float* out) const {
  const int out_per_group = num_output_ / group_;
  float* buffer = is_1x1_ ? nullptr : GpuColumns();
  for (int n = 0; n < num_; ++n) {
    const float* image = in + n * bottom_dim_;
    const float* columns = image;
    if (!is_1x1_) {
      UnfoldImageGpu(image, buffer);
      columns = buffer;
    }
    for (int g = 0; g < group_; ++g) {
      gpu::Gemm(Trans::kNo, Trans::kNo, out_per_group, out_spatial_, kernel_dim_, 1.f,
                weights + int64_t(g) * out_per_group * kernel_dim_,
                columns + int64_t(g) * kernel_dim_ * out_spatial_, 0.f,
                out + n * top_dim_ + int64_t(g) * out_per_group * out_spatial_);
    }
  }
}

// Per image: the weight gradient from the unfolded input, then the column
// gradient folded back into the input gradient. Both reuse one buffer; the
// stream orders the GEMM that reads it before the one that overwrites it.
void ConvolutionLayer::BackwardGpuIm2col(const float* in, const float* top_diff,
                                         const float* weights, float* weight_diff,
                                         float* in_diff) const {
  const int out_per_group = num_output_ / group_;
  float* buffer = is_1x1_ ? nullptr : GpuColumns();
  for (int n = 0; n < num_; ++n) {
    const float* image_diff_top = top_diff + n * top_dim_;
    if (weight_diff) {
      const float* columns = in + n * bottom_dim_;
      if (!is_1x1_) {
        UnfoldImageGpu(columns, buffer);
        columns = buffer;
      }
      for (int g = 0; g < group_; ++g) {
        gpu::Gemm(Trans::kNo, Trans::kYes, out_per_group, kernel_dim_, out_spatial_, 1.f,
                  image_diff_top + int64_t(g) * out_per_group * out_spatial_,
                  columns + int64_t(g) * kernel_dim_ * out_spatial_, 1.f,
                  weight_diff + int64_t(g) * out_per_group * kernel_dim_);
      }
    }
    if (in_diff) {
      float* image_diff = in_diff + n * bottom_dim_;
      float* column_diff = is_1x1_ ? image_diff : buffer;
      for (int g = 0; g < group_; ++g) {
        gpu::Gemm(Trans::kYes, Trans::kNo, kernel_dim_, out_spatial_, out_per_group, 1.f,
                  weights + int64_t(g) * out_per_group * kernel_dim_,
                  image_diff_top + int64_t(g) * out_per_group * out_spatial_, 0.f,
                  column_diff + int64_t(g) * kernel_dim_ * out_spatial_);
      }
      if (!is_1x1_) {
        gpu::Set(bottom_dim_, 0.f, image_diff);
        FoldImageGpu(column_diff, image_diff);
      }
    }
  }
}

void ConvolutionLayer::ForwardGpu(const BlobVec& bottom, const BlobVec& top) {
  ChooseGpuEngine();
  if (cudnn_) cudnn_->SetShape(num_, geometry_);
  const float* weights = ForwardWeights()->gpu_data();
  const Blob* bias = ForwardBias();
  for (size_t b = 0; b < bottom.size(); ++b) {
    const float* in = bottom[b]->gpu_data();
    float* out = top[b]->mutable_gpu_data();
    if (cudnn_) {
      cudnn_->Forward(in, weights, out);
    } else {
      ForwardGpuIm2col(in, weights, out);
    }
    if (bias) ChannelBiasForwardGpu(num_, num_output_, out_spatial_, bias->gpu_data(), out);
    if (PostOps()) ApplyEpilogueGpu(*PostOps(), top[b]->count(), out);
  }
}

void ConvolutionLayer::BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                                   const BlobVec& bottom) {
  ChooseGpuEngine();
  if (cudnn_) cudnn_->SetShape(num_, geometry_);
  const bool weight_grad = param_propagate_down(0);
  const bool bias_grad = bias_term_ && param_propagate_down(1);
  const float* weights = blobs_[0]->gpu_data();
  for (size_t b = 0; b < top.size(); ++b) {
    const float* top_diff = top[b]->gpu_diff();
    if (bias_grad) {
      ChannelBiasBackwardGpu(num_, num_output_, out_spatial_, top_diff,
                             blobs_[1]->mutable_gpu_diff());
    }
    const bool data_grad = propagate_down[b];
    if (!weight_grad && !data_grad) continue;
    const float* in = weight_grad ? bottom[b]->gpu_data() : nullptr;
    float* weight_diff = weight_grad ? blobs_[0]->mutable_gpu_diff() : nullptr;
    float* in_diff = data_grad ? bottom[b]->mutable_gpu_diff() : nullptr;
    if (!cudnn_) {
      BackwardGpuIm2col(in, top_diff, weights, weight_diff, in_diff);
      continue;
    }
    if (weight_diff) cudnn_->BackwardFilter(in, top_diff, weight_diff);
    if (in_diff) cudnn_->BackwardData(weights, top_diff, in_diff);
  }
}
#endif  // CORTADO_WITH_CUDA

CORTADO_REGISTER_LAYER(Convolution, ConvolutionLayer)

}  // namespace cortado
