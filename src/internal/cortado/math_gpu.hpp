// Device math primitives over raw device pointers: cuBLAS wrappers and
// element-wise helpers, the GPU twins of cortado/math.hpp (same names, same
// row-major conventions). Defined only in CUDA builds; call them from code
// guarded by CORTADO_WITH_CUDA. Everything runs on the current device's
// default stream.
#ifndef CORTADO_MATH_GPU_HPP_
#define CORTADO_MATH_GPU_HPP_

#include <cstdint>

#include "cortado/math.hpp"

namespace cortado {
namespace gpu {

void Gemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha,
          const float* a, const float* b, float beta, float* c);
void Gemv(Trans trans_a, int m, int n, float alpha, const float* a,
          const float* x, float beta, float* y);
void Axpy(int64_t n, float alpha, const float* x, float* y);
void Axpby(int64_t n, float alpha, const float* x, float beta, float* y);
void Set(int64_t n, float value, float* y);
void Copy(int64_t n, const float* x, float* y);
void Scale(int64_t n, float alpha, float* x);
void Scale(int64_t n, float alpha, const float* x, float* y);
void AddScalar(int64_t n, float alpha, float* x);
// Reductions return to the host (they synchronise).
float Dot(int64_t n, const float* x, const float* y);
float Asum(int64_t n, const float* x);
float SumSquares(int64_t n, const float* x);

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

}  // namespace gpu
}  // namespace cortado

#endif  // CORTADO_MATH_GPU_HPP_
