// Im2col/Col2im against naive per-element loops, including images unfolded
// side by side into one wide matrix.
#include "cortado/im2col.hpp"

#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/blob.hpp"
#include "cortado/device.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/im2col_gpu.hpp"
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {
namespace {

struct Im2colCase {
  const char* name;
  ConvGeometry geometry;
};

ConvGeometry Make(int c, int h, int w, int kh, int kw, int ph, int pw, int sh, int sw, int dh,
                  int dw) {
  ConvGeometry g;
  g.channels = c;
  g.height = h;
  g.width = w;
  g.kernel_h = kh;
  g.kernel_w = kw;
  g.pad_h = ph;
  g.pad_w = pw;
  g.stride_h = sh;
  g.stride_w = sw;
  g.dilation_h = dh;
  g.dilation_w = dw;
  return g;
}

// The input pixel a column entry reads, or -1 where it falls in the padding.
int64_t SourceIndex(const ConvGeometry& g, int c, int ki, int kj, int oh, int ow) {
  const int ih = oh * g.stride_h - g.pad_h + ki * g.dilation_h;
  const int iw = ow * g.stride_w - g.pad_w + kj * g.dilation_w;
  if (ih < 0 || ih >= g.height || iw < 0 || iw >= g.width) return -1;
  return (int64_t(c) * g.height + ih) * g.width + iw;
}

std::vector<float> Random(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

class Im2colTest : public ::testing::TestWithParam<Im2colCase> {};

TEST_P(Im2colTest, MatchesNaiveSideBySide) {
  const ConvGeometry g = GetParam().geometry;
  const int images = 3;
  const int64_t image_size = int64_t(g.channels) * g.height * g.width;
  const int out_h = g.output_h(), out_w = g.output_w();
  const int64_t spatial = int64_t(out_h) * out_w;
  const int64_t rows = int64_t(g.channels) * g.kernel_h * g.kernel_w;
  const int64_t row_stride = images * spatial;
  const std::vector<float> input = Random(images * image_size, 3);

  // Garbage-filled so entries the unfolding forgets to write are caught.
  std::vector<float> columns(rows * row_stride, 1234.f);
  for (int i = 0; i < images; ++i) {
    Im2col(input.data() + i * image_size, g, row_stride, columns.data() + i * spatial);
  }
  for (int i = 0; i < images; ++i) {
    for (int c = 0; c < g.channels; ++c) {
      for (int ki = 0; ki < g.kernel_h; ++ki) {
        for (int kj = 0; kj < g.kernel_w; ++kj) {
          const int64_t row = (int64_t(c) * g.kernel_h + ki) * g.kernel_w + kj;
          for (int oh = 0; oh < out_h; ++oh) {
            for (int ow = 0; ow < out_w; ++ow) {
              const int64_t src = SourceIndex(g, c, ki, kj, oh, ow);
              const float expected = src < 0 ? 0.f : input[i * image_size + src];
              ASSERT_EQ(expected, columns[row * row_stride + i * spatial + oh * out_w + ow])
                  << "image " << i << " row " << row << " at " << oh << "," << ow;
            }
          }
        }
      }
    }
  }

  // Col2im accumulates every column entry back onto the pixel it came from.
  const std::vector<float> grad = Random(rows * row_stride, 4);
  std::vector<float> folded(images * image_size, 0.f);
  std::vector<float> expected(images * image_size, 0.f);
  for (int i = 0; i < images; ++i) {
    Col2im(grad.data() + i * spatial, g, row_stride, folded.data() + i * image_size);
    for (int64_t row = 0; row < rows; ++row) {
      const int c = static_cast<int>(row / (g.kernel_h * g.kernel_w));
      const int ki = static_cast<int>(row / g.kernel_w % g.kernel_h);
      const int kj = static_cast<int>(row % g.kernel_w);
      for (int oh = 0; oh < out_h; ++oh) {
        for (int ow = 0; ow < out_w; ++ow) {
          const int64_t src = SourceIndex(g, c, ki, kj, oh, ow);
          if (src >= 0) {
            expected[i * image_size + src] +=
                grad[row * row_stride + i * spatial + oh * out_w + ow];
          }
        }
      }
    }
  }
  for (size_t j = 0; j < expected.size(); ++j) {
    ASSERT_NEAR(expected[j], folded[j], 1e-5f) << "pixel " << j;
  }
}

// The device kernels give the host functions' results: Im2col exactly (it
// only moves values), Col2im up to summation order.
TEST_P(Im2colTest, GpuMatchesCpu) {
  if (CudaDeviceCount() == 0) {
    GTEST_SKIP() << "skipped: no GPU (" << CudaUnavailableReason() << ")";
  }
#ifdef CORTADO_WITH_CUDA
  const ConvGeometry g = GetParam().geometry;
  const int images = 2;
  const int64_t image_size = int64_t(g.channels) * g.height * g.width;
  const int64_t spatial = int64_t(g.output_h()) * g.output_w();
  const int64_t rows = int64_t(g.channels) * g.kernel_h * g.kernel_w;
  const int64_t row_stride = images * spatial;
  const std::vector<float> input = Random(images * image_size, 5);
  const std::vector<float> grad = Random(rows * row_stride, 6);

  std::vector<float> cpu_columns(rows * row_stride, 0.f);
  std::vector<float> cpu_folded(images * image_size, 0.f);
  for (int i = 0; i < images; ++i) {
    Im2col(input.data() + i * image_size, g, row_stride, cpu_columns.data() + i * spatial);
    Col2im(grad.data() + i * spatial, g, row_stride, cpu_folded.data() + i * image_size);
  }

  Blob image({images, static_cast<int>(image_size)});
  Blob columns({static_cast<int>(rows), static_cast<int>(row_stride)});
  std::copy(input.begin(), input.end(), image.mutable_cpu_data());
  std::copy(grad.begin(), grad.end(), columns.mutable_cpu_diff());
  // Garbage first, so entries the kernel forgets to write are caught.
  gpu::Set(columns.count(), 1234.f, columns.mutable_gpu_data());
  gpu::Set(image.count(), 0.f, image.mutable_gpu_diff());
  for (int i = 0; i < images; ++i) {
    gpu::Im2col(image.gpu_data() + i * image_size, g, row_stride,
                columns.mutable_gpu_data() + i * spatial);
    gpu::Col2im(columns.gpu_diff() + i * spatial, g, row_stride,
                image.mutable_gpu_diff() + i * image_size);
  }
  const float* gpu_columns = columns.cpu_data();
  for (size_t j = 0; j < cpu_columns.size(); ++j) {
    ASSERT_EQ(cpu_columns[j], gpu_columns[j]) << "column entry " << j;
  }
  const float* gpu_folded = image.cpu_diff();
  for (size_t j = 0; j < cpu_folded.size(); ++j) {
    ASSERT_NEAR(cpu_folded[j], gpu_folded[j], 1e-5f) << "pixel " << j;
  }
#endif
}

ConvGeometryNd ToNd(const ConvGeometry& g) {
  ConvGeometryNd nd;
  nd.channels = g.channels;
  nd.input = {g.height, g.width};
  nd.kernel = {g.kernel_h, g.kernel_w};
  nd.pad = {g.pad_h, g.pad_w};
  nd.stride = {g.stride_h, g.stride_w};
  nd.dilation = {g.dilation_h, g.dilation_w};
  return nd;
}

// The general N-d unfolding on two axes agrees with the 2-D kernels exactly,
// side by side included.
TEST_P(Im2colTest, NdAgreesWithTwoD) {
  const ConvGeometry g = GetParam().geometry;
  const ConvGeometryNd nd = ToNd(g);
  ASSERT_EQ(nd.output(0), g.output_h());
  ASSERT_EQ(nd.output(1), g.output_w());
  const int images = 2;
  const int64_t image_size = int64_t(g.channels) * g.height * g.width;
  const int64_t spatial = int64_t(g.output_h()) * g.output_w();
  ASSERT_EQ(nd.output_count(), spatial);
  const int64_t rows = int64_t(g.channels) * nd.kernel_count();
  const int64_t row_stride = images * spatial;
  const std::vector<float> input = Random(images * image_size, 5);
  std::vector<float> two_d(rows * row_stride, 1234.f), general(rows * row_stride, -99.f);
  for (int i = 0; i < images; ++i) {
    Im2col(input.data() + i * image_size, g, row_stride, two_d.data() + i * spatial);
    Im2colNd(input.data() + i * image_size, nd, row_stride, general.data() + i * spatial);
  }
  ASSERT_EQ(two_d, general);
  std::vector<float> folded(images * image_size, 0.f), folded_nd(images * image_size, 0.f);
  for (int i = 0; i < images; ++i) {
    Col2im(general.data() + i * spatial, g, row_stride, folded.data() + i * image_size);
    Col2imNd(general.data() + i * spatial, nd, row_stride, folded_nd.data() + i * image_size);
  }
  for (size_t j = 0; j < folded.size(); ++j) ASSERT_NEAR(folded[j], folded_nd[j], 1e-5f) << j;
}

// A 3-D unfolding entry by entry against the definition.
TEST(Im2colNd, ThreeDMatchesDefinition) {
  ConvGeometryNd g;
  g.channels = 2;
  g.input = {3, 5, 4};
  g.kernel = {2, 3, 2};
  g.pad = {1, 0, 1};
  g.stride = {1, 2, 2};
  g.dilation = {2, 1, 1};
  const int od = g.output(0), oh = g.output(1), ow = g.output(2);
  ASSERT_EQ(od, 3);  // (3 + 2 - 3) / 1 + 1
  ASSERT_EQ(oh, 2);  // (5 - 3) / 2 + 1
  ASSERT_EQ(ow, 3);  // (4 + 2 - 2) / 2 + 1
  const std::vector<float> image = Random(g.channels * g.input_count(), 6);
  const int64_t rows = g.channels * g.kernel_count();
  std::vector<float> columns(rows * g.output_count(), 1234.f);
  Im2colNd(image.data(), g, g.output_count(), columns.data());
  std::vector<float> grad = Random(columns.size(), 7);
  std::vector<float> folded(image.size(), 0.f), expected_fold(image.size(), 0.f);
  Col2imNd(grad.data(), g, g.output_count(), folded.data());
  int64_t row = 0;
  for (int c = 0; c < g.channels; ++c) {
    for (int kd = 0; kd < 2; ++kd) {
      for (int kh = 0; kh < 3; ++kh) {
        for (int kw = 0; kw < 2; ++kw, ++row) {
          int64_t col = 0;
          for (int d = 0; d < od; ++d) {
            for (int h = 0; h < oh; ++h) {
              for (int w = 0; w < ow; ++w, ++col) {
                const int id = d - 1 + 2 * kd, ih = 2 * h + kh, iw = 2 * w - 1 + kw;
                const bool inside = id >= 0 && id < 3 && ih >= 0 && ih < 5 && iw >= 0 && iw < 4;
                const int64_t src = ((int64_t(c) * 3 + id) * 5 + ih) * 4 + iw;
                const int64_t entry = row * g.output_count() + col;
                ASSERT_EQ(inside ? image[src] : 0.f, columns[entry])
                    << "row " << row << " column " << col;
                if (inside) expected_fold[src] += grad[entry];
              }
            }
          }
        }
      }
    }
  }
  for (size_t j = 0; j < folded.size(); ++j) ASSERT_NEAR(expected_fold[j], folded[j], 1e-5f) << j;
}

// The device N-d kernels give the host's results on 3-D and 1-D windows
// with padding, strides and dilation, two images side by side.
TEST(Im2colNd, GpuMatchesCpu) {
  if (CudaDeviceCount() == 0) {
    GTEST_SKIP() << "skipped: no GPU (" << CudaUnavailableReason() << ")";
  }
#ifdef CORTADO_WITH_CUDA
  ConvGeometryNd three_d;
  three_d.channels = 2;
  three_d.input = {3, 5, 4};
  three_d.kernel = {2, 3, 2};
  three_d.pad = {1, 0, 1};
  three_d.stride = {1, 2, 2};
  three_d.dilation = {2, 1, 1};
  ConvGeometryNd one_d;
  one_d.channels = 3;
  one_d.input = {9};
  one_d.kernel = {3};
  one_d.pad = {2};
  one_d.stride = {2};
  one_d.dilation = {2};
  for (const ConvGeometryNd& g : {three_d, one_d}) {
    const int images = 2;
    const int64_t image_size = g.channels * g.input_count();
    const int64_t spatial = g.output_count();
    const int64_t rows = g.channels * g.kernel_count();
    const int64_t row_stride = images * spatial;
    const std::vector<float> input = Random(images * image_size, 8);
    const std::vector<float> grad = Random(rows * row_stride, 9);
    std::vector<float> cpu_columns(rows * row_stride, 0.f);
    std::vector<float> cpu_folded(images * image_size, 0.f);
    for (int i = 0; i < images; ++i) {
      Im2colNd(input.data() + i * image_size, g, row_stride, cpu_columns.data() + i * spatial);
      Col2imNd(grad.data() + i * spatial, g, row_stride, cpu_folded.data() + i * image_size);
    }
    Blob image({images, static_cast<int>(image_size)});
    Blob columns({static_cast<int>(rows), static_cast<int>(row_stride)});
    std::copy(input.begin(), input.end(), image.mutable_cpu_data());
    std::copy(grad.begin(), grad.end(), columns.mutable_cpu_diff());
    gpu::Set(columns.count(), 1234.f, columns.mutable_gpu_data());
    gpu::Set(image.count(), 0.f, image.mutable_gpu_diff());
    for (int i = 0; i < images; ++i) {
      gpu::Im2colNd(image.gpu_data() + i * image_size, g, row_stride,
                    columns.mutable_gpu_data() + i * spatial);
      gpu::Col2imNd(columns.gpu_diff() + i * spatial, g, row_stride,
                    image.mutable_gpu_diff() + i * image_size);
    }
    const float* gpu_columns = columns.cpu_data();
    for (size_t j = 0; j < cpu_columns.size(); ++j) {
      ASSERT_EQ(cpu_columns[j], gpu_columns[j]) << g.num_axes() << "-D column entry " << j;
    }
    const float* gpu_folded = image.cpu_diff();
    for (size_t j = 0; j < cpu_folded.size(); ++j) {
      ASSERT_NEAR(cpu_folded[j], gpu_folded[j], 1e-5f) << g.num_axes() << "-D pixel " << j;
    }
  }
#endif
}

const Im2colCase kCases[] = {
    {"Plain3x3", Make(2, 5, 6, 3, 3, 0, 0, 1, 1, 1, 1)},
    {"Pad1", Make(2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1)},
    {"Stride2Pad1", Make(3, 7, 6, 3, 3, 1, 1, 2, 2, 1, 1)},
    {"Rectangular", Make(2, 6, 7, 2, 4, 0, 2, 2, 1, 1, 1)},
    {"Dilation2", Make(2, 7, 7, 3, 3, 1, 2, 1, 1, 2, 2)},
    {"DilationStridePad", Make(1, 9, 8, 3, 2, 2, 1, 2, 3, 2, 3)},
    {"OneByOne", Make(4, 3, 5, 1, 1, 0, 0, 1, 1, 1, 1)},
    {"PadLargerThanHalfKernel", Make(1, 3, 3, 2, 2, 1, 1, 3, 3, 1, 1)},
    {"KernelCoversImage", Make(2, 4, 4, 4, 4, 0, 0, 1, 1, 1, 1)},
};

INSTANTIATE_TEST_SUITE_P(Im2col, Im2colTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Im2colCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace cortado
