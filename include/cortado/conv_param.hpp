// Reads the window of a ConvolutionParameter (kernel, stride, pad, dilation
// in either the repeated or the _h/_w form) for the layers that unfold
// images: Convolution, Deconvolution and Im2col.
#ifndef CORTADO_CONV_PARAM_HPP_
#define CORTADO_CONV_PARAM_HPP_

#include <string>

#include "caffe.pb.h"
#include "cortado/im2col.hpp"

namespace cortado {

// Fills g's kernel/stride/pad/dilation; throws Error starting with
// error_prefix for a missing, conflicting or non-positive value.
void ReadConvWindow(const caffe::ConvolutionParameter& param, const std::string& error_prefix,
                    ConvGeometry* g);

// The N-d form: each repeated field holds one value for every axis or one
// per axis (the _h/_w fields are 2-D only). Fills g's kernel/stride/pad/
// dilation for `num_axes` spatial axes.
void ReadConvWindowNd(const caffe::ConvolutionParameter& param, const std::string& error_prefix,
                      int num_axes, ConvGeometryNd* g);

}  // namespace cortado

#endif  // CORTADO_CONV_PARAM_HPP_
