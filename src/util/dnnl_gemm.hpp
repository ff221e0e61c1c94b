// Matrix products through oneDNN: its matmul primitive and its BLAS-style
// sgemm (Gemm in math.cpp picks one per shape). Builds with oneDNN only.
#ifndef CORTADO_SRC_UTIL_DNNL_GEMM_HPP_
#define CORTADO_SRC_UTIL_DNNL_GEMM_HPP_

#ifdef CORTADO_WITH_DNNL

#include "cortado/math.hpp"

namespace cortado {

// c (m x n, row-major) = op(a) * op(b), plus c's old values when
// `accumulate`; op transposes where asked, as in Gemm. Runs on the calling
// thread's OpenMP team (one thread inside a parallel region). Returns false,
// having done nothing, where oneDNN has only its reference kernel for the
// shape (a CPU without AVX2, say).
bool DnnlGemm(Trans trans_a, Trans trans_b, int m, int n, int k, const float* a, const float* b,
              bool accumulate, float* c);

// c = alpha * op(a) * op(b) + beta * c through oneDNN's sgemm, which picks
// its kernels by the CPU's instruction set (OpenBLAS 0.3.21 picks them by
// CPU model, and runs its SSE3 kernels on models newer than it). Threads
// itself on the calling thread's OpenMP team. Returns false, having done
// nothing, on a CPU without AVX2, where oneDNN has only a reference loop.
bool DnnlSgemm(Trans trans_a, Trans trans_b, int m, int n, int k, float alpha, const float* a,
               const float* b, float beta, float* c);

}  // namespace cortado

#endif  // CORTADO_WITH_DNNL

#endif  // CORTADO_SRC_UTIL_DNNL_GEMM_HPP_
