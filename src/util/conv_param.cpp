// ConvolutionParameter window fields -> ConvGeometry, with clear errors.
#include "cortado/conv_param.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "cortado/common.hpp"

namespace cortado {
namespace {

// One of kernel/stride/pad/dilation: the repeated field (one value for both
// axes, or h then w) or the _h/_w pair, never both.
void ReadPair(const std::string& prefix, const char* name,
              const google::protobuf::RepeatedField<uint32_t>& values, bool has_h,
              uint32_t h, bool has_w, uint32_t w, int fallback, int* out_h, int* out_w) {
  if (has_h || has_w) {
    if (values.size() > 0) {
      ThrowError(prefix, "give either ", name, " or ", name, "_h/", name, "_w, not both");
    }
    if (!(has_h && has_w)) ThrowError(prefix, name, "_h and ", name, "_w must be given together");
    *out_h = CheckedInt(prefix, std::string(name) + "_h", h);
    *out_w = CheckedInt(prefix, std::string(name) + "_w", w);
    return;
  }
  if (values.size() > 2) {
    ThrowError(prefix, name, " has ", values.size(), " values; a 2-D window takes 1 or 2");
  }
  *out_h = values.empty() ? fallback : CheckedInt(prefix, name, values.Get(0));
  *out_w = values.empty() ? fallback : CheckedInt(prefix, name, values.Get(values.size() - 1));
}

}  // namespace

void ReadConvWindow(const caffe::ConvolutionParameter& p, const std::string& prefix,
                    ConvGeometry* g) {
  if (p.kernel_size_size() == 0 && !p.has_kernel_h() && !p.has_kernel_w()) {
    ThrowError(prefix, "kernel_size (or kernel_h and kernel_w) is required");
  }
  ReadPair(prefix, "kernel", p.kernel_size(), p.has_kernel_h(), p.kernel_h(), p.has_kernel_w(),
           p.kernel_w(), 0, &g->kernel_h, &g->kernel_w);
  ReadPair(prefix, "stride", p.stride(), p.has_stride_h(), p.stride_h(), p.has_stride_w(),
           p.stride_w(), 1, &g->stride_h, &g->stride_w);
  ReadPair(prefix, "pad", p.pad(), p.has_pad_h(), p.pad_h(), p.has_pad_w(), p.pad_w(), 0,
           &g->pad_h, &g->pad_w);
  ReadPair(prefix, "dilation", p.dilation(), false, 0, false, 0, 1, &g->dilation_h,
           &g->dilation_w);
  if (g->kernel_h <= 0 || g->kernel_w <= 0) {
    ThrowError(prefix, "kernel size must be positive, got ", g->kernel_h, "x", g->kernel_w);
  }
  if (g->stride_h <= 0 || g->stride_w <= 0) {
    ThrowError(prefix, "stride must be positive, got ", g->stride_h, "x", g->stride_w);
  }
  if (g->dilation_h <= 0 || g->dilation_w <= 0) {
    ThrowError(prefix, "dilation must be positive, got ", g->dilation_h, "x", g->dilation_w);
  }
}

namespace {

// One repeated field over `num_axes` axes: absent (fallback), one value for
// all, or one per axis.
std::vector<int> ReadPerAxis(const std::string& prefix, const char* name,
                             const google::protobuf::RepeatedField<uint32_t>& values,
                             int num_axes, int fallback, int minimum) {
  if (values.size() > 1 && values.size() != num_axes) {
    ThrowError(prefix, name, " has ", values.size(), " values; a ", num_axes,
               "-D window takes 1 or ", num_axes);
  }
  std::vector<int> out(num_axes, fallback);
  for (int a = 0; a < num_axes && !values.empty(); ++a) {
    out[a] = CheckedInt(prefix, name, values.Get(values.size() == 1 ? 0 : a));
    if (out[a] < minimum) {
      ThrowError(prefix, name, " must be ", minimum == 0 ? "non-negative" : "positive", ", got ",
                 out[a], " for spatial axis ", a);
    }
  }
  return out;
}

}  // namespace

void ReadConvWindowNd(const caffe::ConvolutionParameter& p, const std::string& prefix,
                      int num_axes, ConvGeometryNd* g) {
  if (num_axes == 2) {
    // The 2-D reader also knows the _h/_w fields.
    ConvGeometry g2;
    ReadConvWindow(p, prefix, &g2);
    g->kernel = {g2.kernel_h, g2.kernel_w};
    g->stride = {g2.stride_h, g2.stride_w};
    g->pad = {g2.pad_h, g2.pad_w};
    g->dilation = {g2.dilation_h, g2.dilation_w};
    return;
  }
  if (p.has_kernel_h() || p.has_kernel_w() || p.has_stride_h() || p.has_stride_w() ||
      p.has_pad_h() || p.has_pad_w()) {
    ThrowError(prefix, "kernel_h/kernel_w, stride_h/stride_w and pad_h/pad_w are 2-D only; "
               "this convolution has ", num_axes, " spatial axes: use kernel_size, stride "
               "and pad");
  }
  if (p.kernel_size_size() == 0) ThrowError(prefix, "kernel_size is required");
  g->kernel = ReadPerAxis(prefix, "kernel_size", p.kernel_size(), num_axes, 0, 1);
  g->stride = ReadPerAxis(prefix, "stride", p.stride(), num_axes, 1, 1);
  g->pad = ReadPerAxis(prefix, "pad", p.pad(), num_axes, 0, 0);
  g->dilation = ReadPerAxis(prefix, "dilation", p.dilation(), num_axes, 1, 1);
}

int64_t ConvOutputSize(int64_t input, int64_t kernel, int64_t stride, int64_t pad,
                       int64_t dilation) {
  const int64_t extent = dilation * (kernel - 1) + 1;
  return (input + 2 * pad - extent) / stride + 1;
}

int ConvAxisOutput(const std::string& prefix, const std::string& axis_name, int input,
                   int kernel, int stride, int pad, int dilation, bool* fits) {
  const int64_t extent = int64_t(dilation) * (int64_t(kernel) - 1) + 1;
  CheckedInt(prefix, StrCat("the kernel extent on the ", axis_name, " axis (dilation ", dilation,
                            " x (kernel ", kernel, " - 1) + 1)"), extent);
  const int64_t padded = int64_t(input) + 2 * int64_t(pad);
  CheckedInt(prefix, StrCat("the padded ", axis_name, " (", input, " + 2 x pad ", pad, ")"),
             padded);
  *fits = padded >= extent;
  return static_cast<int>(std::max<int64_t>(
      ConvOutputSize(input, kernel, stride, pad, dilation), 0));
}

int CheckedInt(const std::string& prefix, const std::string& what, int64_t value) {
  if (value > std::numeric_limits<int>::max()) {
    ThrowError(prefix, what, " would be ", value, ", more than ",
               std::numeric_limits<int>::max());
  }
  return static_cast<int>(value);
}

}  // namespace cortado
