// The Pooling layer's cuDNN engine.
#include "pooling_cudnn.hpp"

#include <cstring>

#include "cortado/cuda.hpp"

namespace cortado {

struct CudnnPooling::Descriptors {
  cudnnTensorDescriptor_t bottom = nullptr, top = nullptr;
  cudnnPoolingDescriptor_t pooling = nullptr;
  bool configured = false;
  bool max = true;
  PoolingShape shape{};
};

CudnnPooling::CudnnPooling() : d_(std::make_unique<Descriptors>()) {
  cuda::Check(cudnnCreateTensorDescriptor(&d_->bottom), "cudnnCreateTensorDescriptor");
  cuda::Check(cudnnCreateTensorDescriptor(&d_->top), "cudnnCreateTensorDescriptor");
  cuda::Check(cudnnCreatePoolingDescriptor(&d_->pooling), "cudnnCreatePoolingDescriptor");
}

// Destruction must not throw: statuses are ignored.
CudnnPooling::~CudnnPooling() {
  cudnnDestroyPoolingDescriptor(d_->pooling);
  cudnnDestroyTensorDescriptor(d_->top);
  cudnnDestroyTensorDescriptor(d_->bottom);
}

void CudnnPooling::Configure(bool max, const PoolingShape& s) {
  if (d_->configured && d_->max == max && std::memcmp(&d_->shape, &s, sizeof(s)) == 0) return;
  cuda::Check(cudnnSetTensor4dDescriptor(d_->bottom, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.num,
                                         s.channels, s.height, s.width),
              "cudnnSetTensor4dDescriptor");
  cuda::Check(cudnnSetTensor4dDescriptor(d_->top, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s.num,
                                         s.channels, s.pooled_h, s.pooled_w),
              "cudnnSetTensor4dDescriptor");
  // Deterministic max: the backward pass routes each gradient to one input.
  const cudnnPoolingMode_t mode =
      max ? CUDNN_POOLING_MAX_DETERMINISTIC : CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;
  cuda::Check(cudnnSetPooling2dDescriptor(d_->pooling, mode, CUDNN_NOT_PROPAGATE_NAN,
                                          s.kernel_h, s.kernel_w, s.pad_h, s.pad_w, s.stride_h,
                                          s.stride_w),
              "cudnnSetPooling2dDescriptor");
  int n = 0, c = 0, h = 0, w = 0;
  cuda::Check(cudnnGetPooling2dForwardOutputDim(d_->pooling, d_->bottom, &n, &c, &h, &w),
              "cudnnGetPooling2dForwardOutputDim");
  CHECK(h == s.pooled_h && w == s.pooled_w)
      << "cuDNN pools to " << h << "x" << w << ", the layer to " << s.pooled_h << "x"
      << s.pooled_w;
  d_->max = max;
  d_->shape = s;
  d_->configured = true;
}

void CudnnPooling::Forward(const float* x, float* y) const {
  const float one = 1.f, zero = 0.f;
  cuda::Check(cudnnPoolingForward(cuda::CudnnHandle(), d_->pooling, &one, d_->bottom, x, &zero,
                                  d_->top, y),
              "cudnnPoolingForward");
}

void CudnnPooling::Backward(const float* x, const float* y, const float* dy, float* dx) const {
  const float one = 1.f, zero = 0.f;
  cuda::Check(cudnnPoolingBackward(cuda::CudnnHandle(), d_->pooling, &one, d_->top, y, d_->top,
                                   dy, d_->bottom, x, &zero, d_->bottom, dx),
              "cudnnPoolingBackward");
}

}  // namespace cortado
