// Reads the window of a ConvolutionParameter (kernel, stride, pad, dilation
// in either the repeated or the _h/_w form) for the layers that unfold
// images: Convolution, Deconvolution and Im2col.
#ifndef CORTADO_CONV_PARAM_HPP_
#define CORTADO_CONV_PARAM_HPP_

#include <cstdint>
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

// Caffe's output size of a convolution along one axis,
// (input + 2 pad - extent) / stride + 1 with extent = dilation (kernel - 1)
// + 1, in 64 bits so that no int window overflows. Division truncates
// toward zero, as in Caffe, so an input smaller than the extent can still
// give 1 (or 0, or a negative size).
int64_t ConvOutputSize(int64_t input, int64_t kernel, int64_t stride, int64_t pad,
                       int64_t dilation);

// The output size of a convolution window along one spatial axis (named
// `axis_name` in errors, e.g. "height"), in 64 bits. Throws error_prefix +
// a message when the padded input or the kernel's extent is beyond an int.
// When the extent is larger than the padded input, *fits is false and the
// result is Caffe's size clamped at 0: the net builds, as Caffe's does for
// placeholder inputs, and the layer refuses to run until reshaped.
int ConvAxisOutput(const std::string& error_prefix, const std::string& axis_name, int input,
                   int kernel, int stride, int pad, int dilation, bool* fits);

// Returns value as an int; throws error_prefix + "<what> would be <value>,
// more than 2147483647" when it does not fit.
int CheckedInt(const std::string& error_prefix, const std::string& what, int64_t value);

}  // namespace cortado

#endif  // CORTADO_CONV_PARAM_HPP_
