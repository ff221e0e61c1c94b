// Host math primitives: OpenBLAS for the heavy lifting, plain loops (which
// the compiler vectorises) for element-wise work.
#include "cortado/math.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "cortado/parallel.hpp"

namespace cortado {
namespace {

CBLAS_TRANSPOSE ToCblas(Trans t) { return t == Trans::kNo ? CblasNoTrans : CblasTrans; }

}  // namespace

// We run OpenBLAS single-threaded and split products ourselves over the
// ParallelFor pool: one set of threads for all kernels, none spinning
// against another, and a K-split for the tall-skinny weight gradients
// (M, N small, K huge) that OpenBLAS threads poorly.
void Gemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha,
          const float* a, const float* b, float beta, float* c) {
  static std::once_flag single_threaded_blas;
  std::call_once(single_threaded_blas, [] { openblas_set_num_threads(1); });
  const bool ta = trans_a == Trans::kYes, tb = trans_b == Trans::kYes;
  const int lda = ta ? m : k;
  const int ldb = tb ? k : n;
  const double flops = 2.0 * m * n * k;
  const int threads = NumThreads();
  auto call = [&](int mm, int nn, int kk, const float* aa, const float* bb, float bt, float* cc) {
    cblas_sgemm(CblasRowMajor, ToCblas(trans_a), ToCblas(trans_b), mm, nn, kk, alpha, aa, lda,
                bb, ldb, bt, cc, n);
  };
  if (threads == 1 || flops < 4e6) {
    call(m, n, k, a, b, beta, c);
    return;
  }
  if (n >= 32 * threads && n >= m) {
    // Column blocks of C: B's columns (rows of a transposed B) split.
    const int64_t blocks = (n + 15) / 16;
    ParallelFor(0, blocks, [&](int64_t lo, int64_t hi) {
      const int j0 = static_cast<int>(lo * 16), j1 = std::min<int>(n, static_cast<int>(hi * 16));
      call(m, j1 - j0, k, a, tb ? b + int64_t(j0) * k : b + j0, beta, c + j0);
    });
    return;
  }
  if (m >= 8 * threads) {
    ParallelFor(0, m, [&](int64_t lo, int64_t hi) {
      const int i0 = static_cast<int>(lo);
      call(static_cast<int>(hi - lo), n, k, ta ? a + i0 : a + int64_t(i0) * k, b, beta,
           c + int64_t(i0) * n);
    });
    return;
  }
  // Small C, long reduction: each thread sums a slice of K into its own
  // buffer; the slices are then added into C.
  std::vector<std::vector<float>> partial(threads);
  ParallelFor(0, threads, [&](int64_t lo, int64_t hi) {
    for (int64_t slot = lo; slot < hi; ++slot) {
      const int k0 = static_cast<int>(int64_t(k) * slot / threads);
      const int k1 = static_cast<int>(int64_t(k) * (slot + 1) / threads);
      if (k0 == k1) continue;
      partial[slot].assign(size_t(m) * n, 0.f);
      cblas_sgemm(CblasRowMajor, ToCblas(trans_a), ToCblas(trans_b), m, n, k1 - k0, alpha,
                  ta ? a + int64_t(k0) * m : a + k0, lda, tb ? b + k0 : b + int64_t(k0) * n,
                  ldb, 0.f, partial[slot].data(), n);
    }
  });
  const int64_t count = int64_t(m) * n;
  if (beta == 0) {
    std::fill_n(c, count, 0.f);
  } else if (beta != 1) {
    for (int64_t i = 0; i < count; ++i) c[i] *= beta;
  }
  for (const auto& p : partial) {
    if (p.empty()) continue;
    for (int64_t i = 0; i < count; ++i) c[i] += p[i];
  }
}

void Gemv(Trans trans_a, int m, int n, float alpha, const float* a,
          const float* x, float beta, float* y) {
  cblas_sgemv(CblasRowMajor, ToCblas(trans_a), m, n, alpha, a, n, x, 1, beta, y, 1);
}

void Axpy(int64_t n, float alpha, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void Axpby(int64_t n, float alpha, const float* x, float beta, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i] + beta * y[i];
}

void Set(int64_t n, float value, float* y) {
  if (value == 0) {
    std::memset(y, 0, sizeof(float) * n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

void Copy(int64_t n, const float* x, float* y) {
  if (x != y) std::memcpy(y, x, sizeof(float) * n);
}

void Scale(int64_t n, float alpha, float* x) {
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

void Scale(int64_t n, float alpha, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}

void AddScalar(int64_t n, float alpha, float* x) {
  for (int64_t i = 0; i < n; ++i) x[i] += alpha;
}

// Accumulates in double: these feed losses, norms and gradient checks.
float Dot(int64_t n, const float* x, const float* y) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * y[i];
  return static_cast<float>(sum);
}

float Asum(int64_t n, const float* x) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::fabs(x[i]);
  return static_cast<float>(sum);
}

float SumSquares(int64_t n, const float* x) { return Dot(n, x, x); }

void Add(int64_t n, const float* a, const float* b, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
void Sub(int64_t n, const float* a, const float* b, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] - b[i];
}
void Mul(int64_t n, const float* a, const float* b, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
void Div(int64_t n, const float* a, const float* b, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] / b[i];
}
void Sqr(int64_t n, const float* a, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * a[i];
}
void Sqrt(int64_t n, const float* a, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::sqrt(a[i]);
}
void Exp(int64_t n, const float* a, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(a[i]);
}
void Log(int64_t n, const float* a, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::log(a[i]);
}
void Abs(int64_t n, const float* a, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::fabs(a[i]);
}
void Powx(int64_t n, const float* a, float power, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::pow(a[i], power);
}
void Sign(int64_t n, const float* a, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>((0 < a[i]) - (a[i] < 0));
}

}  // namespace cortado
