// Host math primitives: oneDNN (or, built without it, OpenBLAS) for matrix
// products, plain loops (which the compiler vectorises) on the process's
// threads for element-wise work.
#include "cortado/math.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "cortado/parallel.hpp"
#include "lane_sum.hpp"
#ifdef CORTADO_WITH_DNNL
#include "dnnl_gemm.hpp"
#endif

namespace cortado {
namespace {

CBLAS_TRANSPOSE ToCblas(Trans t) { return t == Trans::kNo ? CblasNoTrans : CblasTrans; }

#ifdef CORTADO_WITH_DNNL
// Whether products go to oneDNN at all: CORTADO_GEMM=openblas keeps them on
// OpenBLAS, to compare.
bool UseOneDnn() {
  static const bool openblas_only = [] {
    const char* value = std::getenv("CORTADO_GEMM");
    return value != nullptr && std::strcmp(value, "openblas") == 0;
  }();
  return !openblas_only;
}

// Whether oneDNN's matmul primitive beats its sgemm on a product, measured
// on this project's 2-core AVX-512 machine. The matmul ran the fully
// connected forward products A * B' at a small batch about 2x faster
// (CaffeNet's fc6 at batch 10: 104 against 54 GFLOP/s; GoogLeNet's
// classifier 113 against 92), but not at batch 1 (14 against 28). Where all
// three sides are at least 32 the two were within 15 % either way, and
// sgemm won the weight and data gradients of those layers (A' * B and
// A * B: 1.3-4x at batch 10).
bool MatmulIsFaster(Trans trans_a, Trans trans_b, int m, int n, int k) {
  if (std::min({m, n, k}) >= 32) return true;
  return trans_a == Trans::kNo && trans_b == Trans::kYes && m >= 2 && n >= 32 && k >= 32;
}
#endif

// OpenBLAS's own threads would spin against the process's OpenMP team.
void SingleThreadedOpenBlas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

}  // namespace

// With oneDNN, every product runs on its kernels (its matmul or sgemm,
// threaded on the process's OpenMP team). Without it, OpenBLAS runs
// single-threaded and we split products ourselves over the ParallelFor pool:
// one set of threads for all kernels, none spinning against another, and a
// K-split for the tall-skinny weight gradients (M, N small, K huge) that
// OpenBLAS threads poorly.
void Gemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha,
          const float* a, const float* b, float beta, float* c) {
#ifdef CORTADO_WITH_DNNL
  if (UseOneDnn()) {
    if (alpha == 1.f && (beta == 0.f || beta == 1.f) && MatmulIsFaster(trans_a, trans_b, m, n, k) &&
        DnnlGemm(trans_a, trans_b, m, n, k, a, b, beta == 1.f, c)) {
      return;
    }
    if (DnnlSgemm(trans_a, trans_b, m, n, k, alpha, a, b, beta, c)) return;
  }
#endif
  SingleThreadedOpenBlas();
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
  SingleThreadedOpenBlas();
  cblas_sgemv(CblasRowMajor, ToCblas(trans_a), m, n, alpha, a, n, x, 1, beta, y, 1);
}

// The element-wise loops below run on the process's threads in chunks of
// kElementGrain: each element is computed the same way whatever the split,
// so results do not depend on the thread count.
void Axpy(int64_t n, float alpha, const float* x, float* y) {
  ParallelForElements(n, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] += alpha * x[i];
  });
}

void Axpby(int64_t n, float alpha, const float* x, float beta, float* y) {
  ParallelForElements(n, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = alpha * x[i] + beta * y[i];
  });
}

void Set(int64_t n, float value, float* y) {
  ParallelForElements(n, [=](int64_t lo, int64_t hi) {
    if (value == 0) {
      std::memset(y + lo, 0, sizeof(float) * (hi - lo));
      return;
    }
    for (int64_t i = lo; i < hi; ++i) y[i] = value;
  });
}

void Copy(int64_t n, const float* x, float* y) {
  if (x == y) return;
  ParallelForElements(n, [=](int64_t lo, int64_t hi) {
    std::memcpy(y + lo, x + lo, sizeof(float) * (hi - lo));
  });
}

void CopyRows(int64_t rows, int64_t length, const float* src, int64_t src_stride, float* dst,
              int64_t dst_stride) {
  ParallelForRows(rows, length, [=](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      std::memcpy(dst + r * dst_stride, src + r * src_stride, sizeof(float) * length);
    }
  });
}

void Scale(int64_t n, float alpha, float* x) {
  ParallelForElements(n, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) x[i] *= alpha;
  });
}

void Scale(int64_t n, float alpha, const float* x, float* y) {
  ParallelForElements(n, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = alpha * x[i];
  });
}

void AddScalar(int64_t n, float alpha, float* x) {
  ParallelForElements(n, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) x[i] += alpha;
  });
}

namespace {

// Sums term(i) over [0, n) in double. The blocks are fixed (not one per
// thread) and their partial sums are added in order, so the result is the
// same bits for any thread count.
template <typename Term>
float DeterministicSum(int64_t n, Term term) {
  constexpr int64_t kBlock = kElementGrain;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  if (blocks <= 1) {
    return static_cast<float>(LaneSum<double>(n, term));
  }
  std::vector<double> partial(blocks);
  ParallelFor(0, blocks, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t lo = b * kBlock, hi = std::min(n, lo + kBlock);
      partial[b] = LaneSum<double>(hi - lo, [&term, lo](int64_t i) { return term(lo + i); });
    }
  });
  double sum = 0;
  for (double p : partial) sum += p;
  return static_cast<float>(sum);
}

// y[i] = f(a[i]) on the process's threads.
template <typename F>
void MapUnary(int64_t n, const float* a, float* y, F f) {
  ParallelForElements(n, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = f(a[i]);
  });
}

// y[i] = f(a[i], b[i]) on the process's threads.
template <typename F>
void MapBinary(int64_t n, const float* a, const float* b, float* y, F f) {
  ParallelForElements(n, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) y[i] = f(a[i], b[i]);
  });
}

}  // namespace

// Accumulates in double: these feed losses, norms and gradient checks.
float Dot(int64_t n, const float* x, const float* y) {
  return DeterministicSum(n, [=](int64_t i) { return double(x[i]) * y[i]; });
}

float Asum(int64_t n, const float* x) {
  return DeterministicSum(n, [=](int64_t i) { return double(std::fabs(x[i])); });
}

float SumSquares(int64_t n, const float* x) { return Dot(n, x, x); }

void Add(int64_t n, const float* a, const float* b, float* y) {
  MapBinary(n, a, b, y, [](float u, float v) { return u + v; });
}
void Sub(int64_t n, const float* a, const float* b, float* y) {
  MapBinary(n, a, b, y, [](float u, float v) { return u - v; });
}
void Mul(int64_t n, const float* a, const float* b, float* y) {
  MapBinary(n, a, b, y, [](float u, float v) { return u * v; });
}
void Div(int64_t n, const float* a, const float* b, float* y) {
  MapBinary(n, a, b, y, [](float u, float v) { return u / v; });
}
void Sqr(int64_t n, const float* a, float* y) {
  MapUnary(n, a, y, [](float u) { return u * u; });
}
void Sqrt(int64_t n, const float* a, float* y) {
  MapUnary(n, a, y, [](float u) { return std::sqrt(u); });
}
void Exp(int64_t n, const float* a, float* y) {
  MapUnary(n, a, y, [](float u) { return std::exp(u); });
}
void Log(int64_t n, const float* a, float* y) {
  MapUnary(n, a, y, [](float u) { return std::log(u); });
}
void Abs(int64_t n, const float* a, float* y) {
  MapUnary(n, a, y, [](float u) { return std::fabs(u); });
}
void Powx(int64_t n, const float* a, float power, float* y) {
  MapUnary(n, a, y, [power](float u) { return std::pow(u, power); });
}
void Sign(int64_t n, const float* a, float* y) {
  MapUnary(n, a, y, [](float u) { return static_cast<float>((0 < u) - (u < 0)); });
}

}  // namespace cortado
