// Host math primitives: OpenBLAS for the heavy lifting, plain loops (which
// the compiler vectorises) for element-wise work.
#include "cortado/math.hpp"

#include <cblas.h>

#include <cmath>
#include <cstring>

namespace cortado {
namespace {

CBLAS_TRANSPOSE ToCblas(Trans t) { return t == Trans::kNo ? CblasNoTrans : CblasTrans; }

}  // namespace

void Gemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha,
          const float* a, const float* b, float beta, float* c) {
  const int lda = trans_a == Trans::kNo ? k : m;
  const int ldb = trans_b == Trans::kNo ? n : k;
  cblas_sgemm(CblasRowMajor, ToCblas(trans_a), ToCblas(trans_b), m, n, k, alpha,
              a, lda, b, ldb, beta, c, n);
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

void SetBlasThreads(int threads) {
  if (threads > 0) openblas_set_num_threads(threads);
}

}  // namespace cortado
