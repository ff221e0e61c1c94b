// The cuDNN engine of the Pooling layer: 2-D MAX and AVE pooling through
// cudnnPoolingForward/Backward. CUDA builds only.
#ifndef CORTADO_LAYERS_POOLING_CUDNN_HPP_
#define CORTADO_LAYERS_POOLING_CUDNN_HPP_

#ifdef CORTADO_WITH_CUDA

#include <memory>

namespace cortado {

// The shape of one pooling problem, in the layer's terms.
struct PoolingShape {
  int num, channels, height, width;
  int pooled_h, pooled_w;
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

class CudnnPooling {
 public:
  CudnnPooling();
  ~CudnnPooling();
  CudnnPooling(const CudnnPooling&) = delete;
  CudnnPooling& operator=(const CudnnPooling&) = delete;

  // Sets the descriptors when the shape or method changed. cuDNN's output
  // size must equal shape.pooled_h/w (the caller checks that: it holds for
  // Caffe's floor rounding, where no window passes the padded input, so
  // AVE's include-padding count is Caffe's divisor).
  void Configure(bool max, const PoolingShape& shape);
  void Forward(const float* x, float* y) const;
  void Backward(const float* x, const float* y, const float* dy, float* dx) const;

 private:
  struct Descriptors;
  std::unique_ptr<Descriptors> d_;
};

}  // namespace cortado

#endif  // CORTADO_WITH_CUDA

#endif  // CORTADO_LAYERS_POOLING_CUDNN_HPP_
