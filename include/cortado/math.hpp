// Host math primitives over raw float arrays: BLAS wrappers and element-wise
// helpers shared by layers and solvers.
#ifndef CORTADO_MATH_HPP_
#define CORTADO_MATH_HPP_

#include <cstdint>

namespace cortado {

enum class Trans { kNo, kYes };

// C = alpha * op(A) * op(B) + beta * C, row-major; op(A) is M x K, op(B) K x N.
void Gemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha,
          const float* a, const float* b, float beta, float* c);
// y = alpha * op(A) * x + beta * y; A is M x N row-major.
void Gemv(Trans trans_a, int m, int n, float alpha, const float* a,
          const float* x, float beta, float* y);
void Axpy(int64_t n, float alpha, const float* x, float* y);
// y = alpha * x + beta * y
void Axpby(int64_t n, float alpha, const float* x, float beta, float* y);
void Set(int64_t n, float value, float* y);
void Copy(int64_t n, const float* x, float* y);
// Copies `rows` runs of `length` floats, row r from src + r * src_stride to
// dst + r * dst_stride, on the process's threads (Concat, Slice, Crop).
void CopyRows(int64_t rows, int64_t length, const float* src, int64_t src_stride, float* dst,
              int64_t dst_stride);
void Scale(int64_t n, float alpha, float* x);
// y = alpha * x
void Scale(int64_t n, float alpha, const float* x, float* y);
void AddScalar(int64_t n, float alpha, float* x);
float Dot(int64_t n, const float* x, const float* y);
float Asum(int64_t n, const float* x);
float SumSquares(int64_t n, const float* x);

// Element-wise: y[i] = a[i] op b[i].
void Add(int64_t n, const float* a, const float* b, float* y);
void Sub(int64_t n, const float* a, const float* b, float* y);
void Mul(int64_t n, const float* a, const float* b, float* y);
void Div(int64_t n, const float* a, const float* b, float* y);
void Sqr(int64_t n, const float* a, float* y);
void Sqrt(int64_t n, const float* a, float* y);
void Exp(int64_t n, const float* a, float* y);
void Log(int64_t n, const float* a, float* y);
void Abs(int64_t n, const float* a, float* y);
void Powx(int64_t n, const float* a, float power, float* y);
void Sign(int64_t n, const float* a, float* y);

}  // namespace cortado

#endif  // CORTADO_MATH_HPP_
