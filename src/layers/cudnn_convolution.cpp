// cuDNN engine of Convolution: descriptors, per-shape algorithm choice by
// measurement, and the three convolution calls.
#ifdef CORTADO_WITH_CUDA
#include "cudnn_convolution.hpp"

#include <utility>
#include <vector>

#include "cortado/common.hpp"

namespace cortado {
namespace {

// The most scratch memory an algorithm may need; faster algorithms that
// want more are passed over.
constexpr size_t kWorkspaceLimit = size_t(256) << 20;

// The fastest measured algorithm that ran, fits the workspace limit and
// computes in plain float32 (no tensor-core math, which would round through
// TF32). cuDNN returns the results sorted by time.
template <typename Perf>
const Perf* Fastest(const std::vector<Perf>& results, int returned) {
  for (int i = 0; i < returned; ++i) {
    const Perf& p = results[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kWorkspaceLimit) continue;
    if (p.mathType == CUDNN_TENSOR_OP_MATH ||
        p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) {
      continue;
    }
    return &p;
  }
  return nullptr;
}

void* WorkspaceOf(size_t bytes) { return bytes > 0 ? cuda::Workspace(bytes) : nullptr; }

}  // namespace

CudnnConvolution::CudnnConvolution(int num_output, int group, std::string log_prefix)
    : num_output_(num_output), group_(group), log_prefix_(std::move(log_prefix)) {
  cuda::Check(cudnnCreateTensorDescriptor(&x_desc_), "cudnnCreateTensorDescriptor");
  cuda::Check(cudnnCreateTensorDescriptor(&y_desc_), "cudnnCreateTensorDescriptor");
  cuda::Check(cudnnCreateFilterDescriptor(&w_desc_), "cudnnCreateFilterDescriptor");
  cuda::Check(cudnnCreateConvolutionDescriptor(&conv_desc_), "cudnnCreateConvolutionDescriptor");
}

CudnnConvolution::~CudnnConvolution() {
  cudnnDestroyConvolutionDescriptor(conv_desc_);
  cudnnDestroyFilterDescriptor(w_desc_);
  cudnnDestroyTensorDescriptor(y_desc_);
  cudnnDestroyTensorDescriptor(x_desc_);
}

std::string CudnnConvolution::ShapeString() const {
  return StrCat("(", shape_[0], ",", shape_[1], ",", shape_[2], ",", shape_[3], ")");
}

void CudnnConvolution::SetShape(int num, const ConvGeometry& g) {
  const ShapeKey key{num, g.channels, g.height, g.width};
  // The window and channel counts are fixed at the layer's set-up, so the
  // input shape alone says whether the descriptors still hold.
  if (has_shape_ && key == shape_) return;
  const int out_h = g.output_h(), out_w = g.output_w();
  cuda::Check(cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, num,
                                         g.channels, g.height, g.width),
              "cudnnSetTensor4dDescriptor (input)");
  cuda::Check(cudnnSetTensor4dDescriptor(y_desc_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, num,
                                         num_output_, out_h, out_w),
              "cudnnSetTensor4dDescriptor (output)");
  cuda::Check(cudnnSetFilter4dDescriptor(w_desc_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                         num_output_, g.channels / group_, g.kernel_h,
                                         g.kernel_w),
              "cudnnSetFilter4dDescriptor");
  cuda::Check(cudnnSetConvolution2dDescriptor(conv_desc_, g.pad_h, g.pad_w, g.stride_h,
                                              g.stride_w, g.dilation_h, g.dilation_w,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
              "cudnnSetConvolution2dDescriptor");
  cuda::Check(cudnnSetConvolutionGroupCount(conv_desc_, group_), "cudnnSetConvolutionGroupCount");
  // Float32 FMA kernels only: TF32 tensor cores would miss the CPU results
  // by more than the 1e-4 the tests allow.
  cuda::Check(cudnnSetConvolutionMathType(conv_desc_, CUDNN_FMA_MATH),
              "cudnnSetConvolutionMathType");
  int n = 0, c = 0, h = 0, w = 0;
  cuda::Check(cudnnGetConvolution2dForwardOutputDim(conv_desc_, x_desc_, w_desc_, &n, &c, &h, &w),
              "cudnnGetConvolution2dForwardOutputDim");
  CHECK(n == num && c == num_output_ && h == out_h && w == out_w)
      << log_prefix_ << "cuDNN's output shape (" << n << "," << c << "," << h << "," << w
      << ") differs from the layer's";
  shape_ = key;
  has_shape_ = true;
  current_ = &algorithms_[key];
}

void CudnnConvolution::Forward(const float* x, const float* w, float* y) {
  CHECK(has_shape_) << "SetShape before Forward";
  Algorithms& a = *current_;
  cudnnHandle_t handle = cuda::CudnnHandle();
  if (!a.has_forward) {
    int count = 0;
    cuda::Check(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &count),
                "cudnnGetConvolutionForwardAlgorithmMaxCount");
    std::vector<cudnnConvolutionFwdAlgoPerf_t> results(count);
    int returned = 0;
    cuda::Check(cudnnFindConvolutionForwardAlgorithm(handle, x_desc_, w_desc_, conv_desc_,
                                                     y_desc_, count, &returned, results.data()),
                "cudnnFindConvolutionForwardAlgorithm");
    const cudnnConvolutionFwdAlgoPerf_t* best = Fastest(results, returned);
    if (!best) {
      ThrowError(log_prefix_, "cuDNN has no float32 forward algorithm for input ", ShapeString(),
                 " within the ", kWorkspaceLimit >> 20, " MB workspace limit");
    }
    a.forward = best->algo;
    a.forward_bytes = best->memory;
    a.has_forward = true;
    LOG(INFO) << log_prefix_ << "cuDNN forward algorithm " << static_cast<int>(best->algo)
              << " for input " << ShapeString() << " (" << best->time << " ms, "
              << best->memory << " bytes of workspace)";
  }
  const float one = 1.f, zero = 0.f;
  cuda::Check(cudnnConvolutionForward(handle, &one, x_desc_, x, w_desc_, w, conv_desc_,
                                      a.forward, WorkspaceOf(a.forward_bytes), a.forward_bytes,
                                      &zero, y_desc_, y),
              "cudnnConvolutionForward");
}

void CudnnConvolution::BackwardData(const float* w, const float* dy, float* dx) {
  CHECK(has_shape_) << "SetShape before BackwardData";
  Algorithms& a = *current_;
  cudnnHandle_t handle = cuda::CudnnHandle();
  if (!a.has_backward_data) {
    int count = 0;
    cuda::Check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &count),
                "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> results(count);
    int returned = 0;
    cuda::Check(cudnnFindConvolutionBackwardDataAlgorithm(handle, w_desc_, y_desc_, conv_desc_,
                                                          x_desc_, count, &returned,
                                                          results.data()),
                "cudnnFindConvolutionBackwardDataAlgorithm");
    const cudnnConvolutionBwdDataAlgoPerf_t* best = Fastest(results, returned);
    if (!best) {
      ThrowError(log_prefix_, "cuDNN has no float32 backward-data algorithm for input ",
                 ShapeString(), " within the ", kWorkspaceLimit >> 20, " MB workspace limit");
    }
    a.backward_data = best->algo;
    a.backward_data_bytes = best->memory;
    a.has_backward_data = true;
    LOG(INFO) << log_prefix_ << "cuDNN backward-data algorithm " << static_cast<int>(best->algo)
              << " for input " << ShapeString() << " (" << best->time << " ms, "
              << best->memory << " bytes of workspace)";
  }
  const float one = 1.f, zero = 0.f;
  cuda::Check(cudnnConvolutionBackwardData(handle, &one, w_desc_, w, y_desc_, dy, conv_desc_,
                                           a.backward_data, WorkspaceOf(a.backward_data_bytes),
                                           a.backward_data_bytes, &zero, x_desc_, dx),
              "cudnnConvolutionBackwardData");
}

void CudnnConvolution::BackwardFilter(const float* x, const float* dy, float* dw) {
  CHECK(has_shape_) << "SetShape before BackwardFilter";
  Algorithms& a = *current_;
  cudnnHandle_t handle = cuda::CudnnHandle();
  if (!a.has_backward_filter) {
    int count = 0;
    cuda::Check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, &count),
                "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> results(count);
    int returned = 0;
    cuda::Check(cudnnFindConvolutionBackwardFilterAlgorithm(handle, x_desc_, y_desc_,
                                                            conv_desc_, w_desc_, count,
                                                            &returned, results.data()),
                "cudnnFindConvolutionBackwardFilterAlgorithm");
    const cudnnConvolutionBwdFilterAlgoPerf_t* best = Fastest(results, returned);
    if (!best) {
      ThrowError(log_prefix_, "cuDNN has no float32 backward-filter algorithm for input ",
                 ShapeString(), " within the ", kWorkspaceLimit >> 20, " MB workspace limit");
    }
    a.backward_filter = best->algo;
    a.backward_filter_bytes = best->memory;
    a.has_backward_filter = true;
    LOG(INFO) << log_prefix_ << "cuDNN backward-filter algorithm "
              << static_cast<int>(best->algo) << " for input " << ShapeString() << " ("
              << best->time << " ms, " << best->memory << " bytes of workspace)";
  }
  // beta = 1: the weight gradient accumulates over bottoms and iterations.
  const float one = 1.f;
  cuda::Check(cudnnConvolutionBackwardFilter(handle, &one, x_desc_, x, y_desc_, dy, conv_desc_,
                                             a.backward_filter,
                                             WorkspaceOf(a.backward_filter_bytes),
                                             a.backward_filter_bytes, &one, w_desc_, dw),
              "cudnnConvolutionBackwardFilter");
}

}  // namespace cortado
#endif  // CORTADO_WITH_CUDA
