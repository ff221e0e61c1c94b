// im2col/col2im on the device, 2-D and N-d: one thread per element written,
// so no two threads touch one float and results do not depend on scheduling.
#include "cortado/cuda.hpp"
#include "cortado/im2col_gpu.hpp"

namespace cortado {
namespace gpu {
namespace {

// Thread i writes column-matrix element (row, col): row = (c, ki, kj) in
// that order, col = (oh, ow). The kernel gets the geometry by value.
__global__ void Im2colKernel(int64_t n, const float* image, ConvGeometry g, int out_h,
                             int out_w, int64_t row_stride, float* columns) {
  const int64_t out_spatial = int64_t(out_h) * out_w;
  CORTADO_KERNEL_LOOP(i, n) {
    const int64_t row = i / out_spatial;
    const int64_t col = i % out_spatial;
    const int oh = static_cast<int>(col / out_w);
    const int ow = static_cast<int>(col % out_w);
    const int kj = static_cast<int>(row % g.kernel_w);
    const int ki = static_cast<int>((row / g.kernel_w) % g.kernel_h);
    const int64_t c = row / (int64_t(g.kernel_w) * g.kernel_h);
    const int ih = oh * g.stride_h - g.pad_h + ki * g.dilation_h;
    const int iw = ow * g.stride_w - g.pad_w + kj * g.dilation_w;
    const bool inside = ih >= 0 && ih < g.height && iw >= 0 && iw < g.width;
    columns[row * row_stride + col] =
        inside ? image[(c * g.height + ih) * g.width + iw] : 0.f;
  }
}

// Thread i owns image element (c, h, w) and sums every column entry that
// read it: tap (ki, kj) at output (oh, ow) reads h when
// oh * stride_h - pad_h + ki * dilation_h == h, and likewise for w.
__global__ void Col2imKernel(int64_t n, const float* columns, ConvGeometry g, int out_h,
                             int out_w, int64_t row_stride, float* image) {
  CORTADO_KERNEL_LOOP(i, n) {
    const int w = static_cast<int>(i % g.width);
    const int h = static_cast<int>((i / g.width) % g.height);
    const int64_t c = i / (int64_t(g.width) * g.height);
    float sum = 0.f;
    for (int ki = 0; ki < g.kernel_h; ++ki) {
      const int h_from_pad = h + g.pad_h - ki * g.dilation_h;  // oh * stride_h
      if (h_from_pad < 0 || h_from_pad % g.stride_h != 0) continue;
      const int oh = h_from_pad / g.stride_h;
      if (oh >= out_h) continue;
      for (int kj = 0; kj < g.kernel_w; ++kj) {
        const int w_from_pad = w + g.pad_w - kj * g.dilation_w;  // ow * stride_w
        if (w_from_pad < 0 || w_from_pad % g.stride_w != 0) continue;
        const int ow = w_from_pad / g.stride_w;
        if (ow >= out_w) continue;
        const int64_t row = (c * g.kernel_h + ki) * g.kernel_w + kj;
        sum += columns[row * row_stride + int64_t(oh) * out_w + ow];
      }
    }
    image[i] += sum;
  }
}

// ConvGeometryNd holds std::vectors, which a kernel cannot take; this is
// its fixed-size copy for up to kMaxSpatialAxes axes.
struct NdShape {
  int axes;
  int input[kMaxSpatialAxes], output[kMaxSpatialAxes], kernel[kMaxSpatialAxes];
  int pad[kMaxSpatialAxes], stride[kMaxSpatialAxes], dilation[kMaxSpatialAxes];
  int64_t input_count, output_count, kernel_count;
};

NdShape ToNdShape(const ConvGeometryNd& g) {
  if (g.num_axes() > kMaxSpatialAxes) {
    ThrowError("N-d im2col on the GPU handles at most ", kMaxSpatialAxes,
               " spatial axes, got ", g.num_axes());
  }
  NdShape s{};
  s.axes = g.num_axes();
  for (int a = 0; a < s.axes; ++a) {
    s.input[a] = g.input[a];
    s.output[a] = g.output(a);
    s.kernel[a] = g.kernel[a];
    s.pad[a] = g.pad[a];
    s.stride[a] = g.stride[a];
    s.dilation[a] = g.dilation[a];
  }
  s.input_count = g.input_count();
  s.output_count = g.output_count();
  s.kernel_count = g.kernel_count();
  return s;
}

// Thread i writes column-matrix element (row, col): row = (channel, tap),
// col = output position, both row-major over the axes as on the host.
__global__ void Im2colNdKernel(int64_t n, const float* image, NdShape s, int64_t row_stride,
                               float* columns) {
  CORTADO_KERNEL_LOOP(i, n) {
    const int64_t row = i / s.output_count;
    const int64_t col = i % s.output_count;
    const int64_t c = row / s.kernel_count;
    int64_t tap = row % s.kernel_count;
    int64_t out = col;
    // Walk the axes last to first, peeling one coordinate off each index.
    int64_t offset = 0, scale = 1;
    bool inside = true;
    for (int a = s.axes - 1; a >= 0; --a) {
      const int k = static_cast<int>(tap % s.kernel[a]);
      const int o = static_cast<int>(out % s.output[a]);
      tap /= s.kernel[a];
      out /= s.output[a];
      const int x = o * s.stride[a] - s.pad[a] + k * s.dilation[a];
      inside = inside && x >= 0 && x < s.input[a];
      offset += x * scale;
      scale *= s.input[a];
    }
    columns[row * row_stride + col] = inside ? image[c * s.input_count + offset] : 0.f;
  }
}

// Thread i owns image element (channel, position) and sums the column
// entries of every tap whose output position reads it.
__global__ void Col2imNdKernel(int64_t n, const float* columns, NdShape s, int64_t row_stride,
                               float* image) {
  CORTADO_KERNEL_LOOP(i, n) {
    const int64_t c = i / s.input_count;
    int position[kMaxSpatialAxes];
    int64_t rest = i % s.input_count;
    for (int a = s.axes - 1; a >= 0; --a) {
      position[a] = static_cast<int>(rest % s.input[a]);
      rest /= s.input[a];
    }
    float sum = 0.f;
    for (int64_t tap = 0; tap < s.kernel_count; ++tap) {
      int64_t t = tap, col = 0, scale = 1;
      bool reads = true;
      for (int a = s.axes - 1; a >= 0 && reads; --a) {
        const int k = static_cast<int>(t % s.kernel[a]);
        t /= s.kernel[a];
        const int from_pad = position[a] + s.pad[a] - k * s.dilation[a];  // o * stride
        const int o = from_pad / s.stride[a];
        reads = from_pad >= 0 && from_pad % s.stride[a] == 0 && o < s.output[a];
        col += o * scale;
        scale *= s.output[a];
      }
      if (reads) sum += columns[(c * s.kernel_count + tap) * row_stride + col];
    }
    image[i] += sum;
  }
}

}  // namespace

void Im2col(const float* image, const ConvGeometry& g, int64_t row_stride, float* columns) {
  const int out_h = g.output_h(), out_w = g.output_w();
  const int64_t n = int64_t(g.channels) * g.kernel_h * g.kernel_w * out_h * out_w;
  if (n <= 0) return;
  Im2colKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, image, g, out_h, out_w,
                                                                row_stride, columns);
  cuda::CheckLaunch("Im2colKernel");
}

void Col2im(const float* columns, const ConvGeometry& g, int64_t row_stride, float* image) {
  const int64_t n = int64_t(g.channels) * g.height * g.width;
  if (n <= 0) return;
  Col2imKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, columns, g, g.output_h(),
                                                                g.output_w(), row_stride, image);
  cuda::CheckLaunch("Col2imKernel");
}

void Im2colNd(const float* image, const ConvGeometryNd& g, int64_t row_stride, float* columns) {
  const NdShape s = ToNdShape(g);
  const int64_t n = g.channels * s.kernel_count * s.output_count;
  if (n <= 0) return;
  Im2colNdKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, image, s, row_stride,
                                                                  columns);
  cuda::CheckLaunch("Im2colNdKernel");
}

void Col2imNd(const float* columns, const ConvGeometryNd& g, int64_t row_stride, float* image) {
  const NdShape s = ToNdShape(g);
  const int64_t n = g.channels * s.input_count;
  if (n <= 0) return;
  Col2imNdKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, columns, s, row_stride,
                                                                  image);
  cuda::CheckLaunch("Col2imNdKernel");
}

}  // namespace gpu
}  // namespace cortado
