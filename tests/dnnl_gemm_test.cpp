// oneDNN's matrix products (DnnlGemm's matmul and DnnlSgemm) against a
// product summed in double, for every transposition, overwriting and
// accumulating; and Gemm, which routes every product to one of them, against
// OpenBLAS and against the double product.
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

TEST(DnnlGemm, SgemmMatchesADoubleProductForEveryTranspositionAlphaAndBeta) {
  // LeNet's conv1 (25 terms), a batch-of-one product and odd sizes.
  const int shapes[][3] = {{20, 96, 25}, {1, 40, 70}, {7, 3, 130}, {33, 47, 65}};
  const float scalings[][2] = {{1.f, 0.f}, {0.5f, 1.f}, {-2.f, 0.25f}};
  for (const auto& shape : shapes) {
    const int m = shape[0], n = shape[1], k = shape[2];
    for (int variant = 0; variant < 4; ++variant) {
      for (const auto& [alpha, beta] : scalings) {
        const bool ta = variant & 1, tb = variant & 2;
        SCOPED_TRACE(::testing::Message() << m << "x" << n << "x" << k << " ta " << ta << " tb "
                                          << tb << " alpha " << alpha << " beta " << beta);
        const std::vector<float> a = Random(m * k, 7), b = Random(k * n, 8);
        std::vector<float> c = Random(m * n, 9);
        const std::vector<double> product = Reference(ta, tb, m, n, k, a, b, c, false);
        std::vector<double> want(c.size());
        for (size_t i = 0; i < c.size(); ++i) want[i] = alpha * product[i] + beta * double(c[i]);
        ASSERT_TRUE(DnnlSgemm(ta ? Trans::kYes : Trans::kNo, tb ? Trans::kYes : Trans::kNo, m, n,
                              k, alpha, a.data(), b.data(), beta, c.data()))
            << "oneDNN has no AVX2 kernels on this CPU";
        const double tolerance = 1e-5 * std::sqrt(double(k)) * 4 * std::abs(alpha) + 1e-6;
        for (size_t i = 0; i < c.size(); ++i) ASSERT_NEAR(c[i], want[i], tolerance) << i;
      }
    }
  }
}

TEST(DnnlGemm, SgemmDeclinesAnEmptyProduct) {
  std::vector<float> a(4, 1.f), b(4, 1.f), c(4, 3.f);
  EXPECT_FALSE(DnnlSgemm(Trans::kNo, Trans::kNo, 2, 2, 0, 1.f, a.data(), b.data(), 0.f, c.data()));
  EXPECT_EQ(c, std::vector<float>(4, 3.f));
}

TEST(DnnlGemm, GemmMatchesADoubleProductOnEveryRoute) {
  // Routes: matmul (all sides >= 32; a small-batch A * B'), sgemm (a side
  // under 32, or alpha and beta that matmul does not take), and a product
  // with no terms, which must scale C by beta.
  struct Case {
    int m, n, k;
    bool ta, tb;
    float alpha, beta;
  };
  const Case cases[] = {{40, 36, 50, false, false, 1.f, 0.f}, {4, 64, 96, false, true, 1.f, 1.f},
                        {20, 300, 25, false, false, 1.f, 0.f}, {20, 25, 300, false, true, 1.f, 1.f},
                        {64, 48, 40, true, false, 0.5f, 2.f}, {3, 5, 0, false, false, 1.f, 0.5f}};
  for (const Case& t : cases) {
    SCOPED_TRACE(::testing::Message() << t.m << "x" << t.n << "x" << t.k << " ta " << t.ta
                                      << " tb " << t.tb);
    const std::vector<float> a = Random(std::max(1, t.m * t.k), 10),
                             b = Random(std::max(1, t.k * t.n), 11);
    std::vector<float> c = Random(t.m * t.n, 12);
    const std::vector<double> product = Reference(t.ta, t.tb, t.m, t.n, t.k, a, b, c, false);
    std::vector<double> want(c.size());
    for (size_t i = 0; i < c.size(); ++i) want[i] = t.alpha * product[i] + t.beta * double(c[i]);
    Gemm(t.ta ? Trans::kYes : Trans::kNo, t.tb ? Trans::kYes : Trans::kNo, t.m, t.n, t.k, t.alpha,
         a.data(), b.data(), t.beta, c.data());
    const double tolerance = 1e-5 * std::sqrt(double(std::max(1, t.k))) * 4 + 1e-6;
    for (size_t i = 0; i < c.size(); ++i) ASSERT_NEAR(c[i], want[i], tolerance) << i;
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
