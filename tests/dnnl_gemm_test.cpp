// oneDNN's matrix products (DnnlGemm) against a product summed in double,
// for every transposition, overwriting and accumulating; and Gemm, which
// routes the large products there, against OpenBLAS.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <cblas.h>

#include "cortado/blob.hpp"
#include "cortado/math.hpp"
#include "layer_case.hpp"
#ifdef CORTADO_WITH_DNNL
#include "../src/util/dnnl_gemm.hpp"
#endif

namespace cortado {
namespace {

#ifdef CORTADO_WITH_DNNL

// n Gaussian values (layer_case.hpp's filler, through a blob).
std::vector<float> Random(int n, unsigned seed) {
  Blob blob(std::vector<int>{n});
  testing::FillGaussian(&blob, 0.f, 1.f, seed);
  return std::vector<float>(blob.cpu_data(), blob.cpu_data() + n);
}

// c = op(a) * op(b) (+ c), row-major, in double.
std::vector<double> Reference(bool ta, bool tb, int m, int n, int k, const std::vector<float>& a,
                              const std::vector<float>& b, const std::vector<float>& c,
                              bool accumulate) {
  std::vector<double> out(size_t(m) * n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double sum = accumulate ? c[size_t(i) * n + j] : 0.0;
      for (int l = 0; l < k; ++l) {
        const float x = ta ? a[size_t(l) * m + i] : a[size_t(i) * k + l];
        const float y = tb ? b[size_t(j) * k + l] : b[size_t(l) * n + j];
        sum += double(x) * y;
      }
      out[size_t(i) * n + j] = sum;
    }
  }
  return out;
}

TEST(DnnlGemm, MatchesADoubleProductForEveryTransposition) {
  // Odd sizes, and LeNet's and a fully connected layer's.
  const int shapes[][3] = {{33, 47, 65}, {50, 64, 500}, {64, 500, 800}, {1, 40, 70}};
  for (const auto& shape : shapes) {
    const int m = shape[0], n = shape[1], k = shape[2];
    for (int variant = 0; variant < 8; ++variant) {
      const bool ta = variant & 1, tb = variant & 2, accumulate = variant & 4;
      SCOPED_TRACE(::testing::Message() << m << "x" << n << "x" << k << " ta " << ta << " tb "
                                        << tb << " accumulate " << accumulate);
      const std::vector<float> a = Random(m * k, 1), b = Random(k * n, 2);
      std::vector<float> c = Random(m * n, 3);
      const std::vector<double> want = Reference(ta, tb, m, n, k, a, b, c, accumulate);
      ASSERT_TRUE(DnnlGemm(ta ? Trans::kYes : Trans::kNo, tb ? Trans::kYes : Trans::kNo, m, n, k,
                           a.data(), b.data(), accumulate, c.data()))
          << "oneDNN has only its reference matmul here";
      // Each term is about 1; a sum of k of them is about sqrt(k).
      const double tolerance = 1e-5 * std::sqrt(double(k)) * 4;
      for (size_t i = 0; i < c.size(); ++i) ASSERT_NEAR(c[i], want[i], tolerance) << i;
    }
  }
}

TEST(DnnlGemm, GemmMatchesOpenBlasOnTheShapesItRoutesToOneDnn) {
  const int m = 64, n = 500, k = 800;
  const std::vector<float> a = Random(m * k, 4), b = Random(n * k, 5);
  const std::vector<float> start = Random(m * n, 6);
  std::vector<float> routed = start, openblas = start;
  Gemm(Trans::kNo, Trans::kYes, m, n, k, 1.f, a.data(), b.data(), 1.f, routed.data());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.f, a.data(), k, b.data(), k,
              1.f, openblas.data(), n);
  double largest = 0;
  for (float v : openblas) largest = std::max(largest, double(std::abs(v)));
  for (size_t i = 0; i < routed.size(); ++i) {
    ASSERT_NEAR(routed[i], openblas[i], 1e-5 * largest) << i;
  }
}

#else

TEST(DnnlGemm, NeedsOneDnn) { GTEST_SKIP() << "built without oneDNN (CORTADO_DNNL)"; }

#endif  // CORTADO_WITH_DNNL

}  // namespace
}  // namespace cortado
