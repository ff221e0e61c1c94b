// Device math primitives: cuBLAS for BLAS-shaped work, one grid-stride
// kernel template for the element-wise maps.
#include "cortado/cublas_library.hpp"
#include "cortado/cuda.hpp"
#include "cortado/math_gpu.hpp"

namespace cortado {
namespace gpu {
namespace {

cublasOperation_t ToCublas(Trans t) { return t == Trans::kNo ? CUBLAS_OP_N : CUBLAS_OP_T; }

template <typename Op>
__global__ void UnaryKernel(int64_t n, const float* a, float* y, Op op) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = op(a[i]); }
}

template <typename Op>
__global__ void BinaryKernel(int64_t n, const float* a, const float* b, float* y, Op op) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = op(a[i], b[i]); }
}

template <typename Op>
void Unary(int64_t n, const float* a, float* y, Op op, const char* name) {
  if (n <= 0) return;
  UnaryKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, a, y, op);
  cuda::CheckLaunch(name);
}

template <typename Op>
void Binary(int64_t n, const float* a, const float* b, float* y, Op op, const char* name) {
  if (n <= 0) return;
  BinaryKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, a, b, y, op);
  cuda::CheckLaunch(name);
}

__global__ void SetKernel(int64_t n, float value, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = value; }
}

// cuBLAS level-1 routines take int counts; larger arrays go in slices.
constexpr int64_t kBlasChunk = int64_t{1} << 30;

}  // namespace

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, so
// cuBLAS gets the operands swapped and the same leading dimensions.
void Gemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha,
          const float* a, const float* b, float beta, float* c) {
  const int lda = trans_a == Trans::kNo ? k : m;
  const int ldb = trans_b == Trans::kNo ? n : k;
  cuda::Check(cuda::Cublas().Sgemm(cuda::CublasHandle(), ToCublas(trans_b), ToCublas(trans_a), n,
                                   m, k, &alpha, b, ldb, a, lda, &beta, c, n),
              "cublasSgemm");
}

// A row-major m x n matrix is a column-major n x m one: the transposes flip.
void Gemv(Trans trans_a, int m, int n, float alpha, const float* a, const float* x,
          float beta, float* y) {
  const cublasOperation_t op = trans_a == Trans::kNo ? CUBLAS_OP_T : CUBLAS_OP_N;
  cuda::Check(
      cuda::Cublas().Sgemv(cuda::CublasHandle(), op, n, m, &alpha, a, n, x, 1, &beta, y, 1),
      "cublasSgemv");
}

void Axpy(int64_t n, float alpha, const float* x, float* y) {
  for (int64_t s = 0; s < n; s += kBlasChunk) {
    const int len = static_cast<int>(std::min(kBlasChunk, n - s));
    cuda::Check(cuda::Cublas().Saxpy(cuda::CublasHandle(), len, &alpha, x + s, 1, y + s, 1),
                "cublasSaxpy");
  }
}

void Axpby(int64_t n, float alpha, const float* x, float beta, float* y) {
  Binary(n, x, y, y, [alpha, beta] __device__(float xi, float yi) { return alpha * xi + beta * yi; },
         "Axpby");
}

void Set(int64_t n, float value, float* y) {
  if (n <= 0) return;
  SetKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, value, y);
  cuda::CheckLaunch("Set");
}

void Copy(int64_t n, const float* x, float* y) {
  if (n <= 0 || x == y) return;
  cuda::Check(cudaMemcpy(y, x, n * sizeof(float), cudaMemcpyDeviceToDevice), "Copy");
}

void Scale(int64_t n, float alpha, float* x) {
  Unary(n, x, x, [alpha] __device__(float v) { return alpha * v; }, "Scale");
}

void Scale(int64_t n, float alpha, const float* x, float* y) {
  Unary(n, x, y, [alpha] __device__(float v) { return alpha * v; }, "Scale");
}

void AddScalar(int64_t n, float alpha, float* x) {
  Unary(n, x, x, [alpha] __device__(float v) { return v + alpha; }, "AddScalar");
}

float Dot(int64_t n, const float* x, const float* y) {
  double total = 0;
  for (int64_t s = 0; s < n; s += kBlasChunk) {
    const int len = static_cast<int>(std::min(kBlasChunk, n - s));
    float part = 0;
    cuda::Check(cuda::Cublas().Sdot(cuda::CublasHandle(), len, x + s, 1, y + s, 1, &part),
                "cublasSdot");
    total += part;
  }
  return static_cast<float>(total);
}

float Asum(int64_t n, const float* x) {
  double total = 0;
  for (int64_t s = 0; s < n; s += kBlasChunk) {
    const int len = static_cast<int>(std::min(kBlasChunk, n - s));
    float part = 0;
    cuda::Check(cuda::Cublas().Sasum(cuda::CublasHandle(), len, x + s, 1, &part),
                "cublasSasum");
    total += part;
  }
  return static_cast<float>(total);
}

float SumSquares(int64_t n, const float* x) { return Dot(n, x, x); }

void Add(int64_t n, const float* a, const float* b, float* y) {
  Binary(n, a, b, y, [] __device__(float u, float v) { return u + v; }, "Add");
}
void Sub(int64_t n, const float* a, const float* b, float* y) {
  Binary(n, a, b, y, [] __device__(float u, float v) { return u - v; }, "Sub");
}
void Mul(int64_t n, const float* a, const float* b, float* y) {
  Binary(n, a, b, y, [] __device__(float u, float v) { return u * v; }, "Mul");
}
void Div(int64_t n, const float* a, const float* b, float* y) {
  Binary(n, a, b, y, [] __device__(float u, float v) { return u / v; }, "Div");
}
void Sqr(int64_t n, const float* a, float* y) {
  Unary(n, a, y, [] __device__(float v) { return v * v; }, "Sqr");
}
void Sqrt(int64_t n, const float* a, float* y) {
  Unary(n, a, y, [] __device__(float v) { return sqrtf(v); }, "Sqrt");
}
void Exp(int64_t n, const float* a, float* y) {
  Unary(n, a, y, [] __device__(float v) { return expf(v); }, "Exp");
}
void Log(int64_t n, const float* a, float* y) {
  Unary(n, a, y, [] __device__(float v) { return logf(v); }, "Log");
}
void Abs(int64_t n, const float* a, float* y) {
  Unary(n, a, y, [] __device__(float v) { return fabsf(v); }, "Abs");
}
void Powx(int64_t n, const float* a, float power, float* y) {
  Unary(n, a, y, [power] __device__(float v) { return powf(v, power); }, "Powx");
}
void Sign(int64_t n, const float* a, float* y) {
  Unary(n, a, y, [] __device__(float v) { return static_cast<float>((0.f < v) - (v < 0.f)); },
        "Sign");
}

}  // namespace gpu
}  // namespace cortado
