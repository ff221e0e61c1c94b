// The oneDNN engine of the Convolution layer on the CPU: primitives for one
// 2-D (grouped, strided, padded, dilated) convolution, rebuilt when the input
// shape changes, and the weights reordered into oneDNN's preferred layout
// once per change of the weight blob. Builds with oneDNN only; the layer
// decides whether to use it (convolution_layer.cpp).
#ifndef CORTADO_SRC_LAYERS_DNNL_CONVOLUTION_HPP_
#define CORTADO_SRC_LAYERS_DNNL_CONVOLUTION_HPP_

#ifdef CORTADO_WITH_DNNL

#include <memory>
#include <string>

#include "cortado/blob.hpp"
#include "cortado/epilogue.hpp"
#include "cortado/im2col.hpp"

namespace cortado {

// Which CPU engine a convolution runs on, from the CORTADO_CONV_ENGINE
// environment variable: "caffe" forces im2col + BLAS everywhere, "dnnl"
// forces oneDNN wherever it applies (2-D), unset or "auto" lets the layer
// choose. A debugging and benchmarking switch; engine: CAFFE in a prototxt
// still wins over it.
enum class CpuConvEngine { kAuto, kCaffe, kDnnl };
CpuConvEngine CpuConvEngineFromEnvironment();

// The measured rule (bench/conv_engines.cpp) for whether oneDNN beats
// im2col + BLAS on `num` images of geometry g with num_output filters in
// `group` groups.
bool DnnlConvolutionIsFaster(int num, const ConvGeometry& g, int num_output, int group);

// The measured rule for whether oneDNN's Winograd convolution (F(4x4, 3x3))
// beats its direct one: 3x3 windows of stride and dilation 1, ungrouped,
// with enough output positions over the batch.
bool WinogradIsFaster(int num, const ConvGeometry& g, int group);

class DnnlConvolution {
 public:
  // `log_prefix` names the layer in log lines and errors.
  DnnlConvolution(int num_output, int group, bool bias_term, std::string log_prefix);
  ~DnnlConvolution();
  DnnlConvolution(const DnnlConvolution&) = delete;
  DnnlConvolution& operator=(const DnnlConvolution&) = delete;

  // Describes `num` NCHW images of geometry g (channels, height, width and
  // the window); cheap when nothing changed since the last call.
  void SetShape(int num, const ConvGeometry& g);
  // Whether the current shape runs oneDNN's Winograd algorithm.
  bool winograd() const;

  // y = conv(x, weights) + bias (bias may be null; overwrites y), then the
  // epilogue's addend (`add`, the output's shape, never y itself) and ReLU
  // where `post` asks: inside the convolution (oneDNN post-ops) on blocked
  // layouts, in one pass after it on plain ones. A bias on a convolution
  // built without one (BatchNorm folded in at inference) is allowed too.
  void Forward(const float* x, const Blob& weights, const float* bias, float* y,
               const Epilogue* post = nullptr, const float* add = nullptr);
  // dw += the weight gradient, db += the bias gradient (accumulating, as
  // parameter gradients do) and dx = the input gradient (overwritten); any
  // of them may be null, and x is read only for dw and db.
  void Backward(const float* x, const Blob& weights, const float* dy, float* dw, float* db,
                float* dx);

 private:
  struct Primitives;  // keeps dnnl.hpp out of the layer's translation unit
  std::unique_ptr<Primitives> p_;
};

}  // namespace cortado

#endif  // CORTADO_WITH_DNNL
#endif  // CORTADO_SRC_LAYERS_DNNL_CONVOLUTION_HPP_
