// The cuDNN engine of the Convolution layer: descriptors for one 2-D
// (grouped, dilated) convolution and the algorithms cuDNN measured fastest
// for each input shape seen. CUDA builds only; the layer decides whether to
// use it (convolution_layer.cpp).
#ifndef CORTADO_SRC_LAYERS_CUDNN_CONVOLUTION_HPP_
#define CORTADO_SRC_LAYERS_CUDNN_CONVOLUTION_HPP_

#ifdef CORTADO_WITH_CUDA

#include <array>
#include <cstddef>
#include <map>
#include <string>

#include "cortado/cuda.hpp"
#include "cortado/im2col.hpp"

namespace cortado {

class CudnnConvolution {
 public:
  // `log_prefix` names the layer in log lines and errors.
  CudnnConvolution(int num_output, int group, std::string log_prefix);
  ~CudnnConvolution();
  CORTADO_DISALLOW_COPY(CudnnConvolution);

  // Describes `num` images of geometry g (channels, height, width and the
  // window); cheap when nothing changed since the last call.
  void SetShape(int num, const ConvGeometry& g);

  // y = conv(x, w) (overwrites y).
  void Forward(const float* x, const float* w, float* y);
  // dx = the input gradient (overwrites dx).
  void BackwardData(const float* w, const float* dy, float* dx);
  // dw += the weight gradient (accumulates, as parameter gradients do).
  void BackwardFilter(const float* x, const float* dy, float* dw);

 private:
  // Algorithms for one input shape; each is measured the first time its
  // direction runs (a deploy net never measures the backward ones).
  struct Algorithms {
    bool has_forward = false, has_backward_data = false, has_backward_filter = false;
    cudnnConvolutionFwdAlgo_t forward{};
    cudnnConvolutionBwdDataAlgo_t backward_data{};
    cudnnConvolutionBwdFilterAlgo_t backward_filter{};
    size_t forward_bytes = 0, backward_data_bytes = 0, backward_filter_bytes = 0;
  };
  using ShapeKey = std::array<int, 4>;  // num, channels, height, width

  std::string ShapeString() const;

  int num_output_;
  int group_;
  std::string log_prefix_;
  cudnnTensorDescriptor_t x_desc_ = nullptr;
  cudnnTensorDescriptor_t y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_ = nullptr;
  bool has_shape_ = false;
  ShapeKey shape_{};
  ConvGeometry window_;  // the window the descriptors were set for
  std::map<ShapeKey, Algorithms> algorithms_;
  Algorithms* current_ = nullptr;  // algorithms_[shape_]
};

}  // namespace cortado

#endif  // CORTADO_WITH_CUDA
#endif  // CORTADO_SRC_LAYERS_CUDNN_CONVOLUTION_HPP_
