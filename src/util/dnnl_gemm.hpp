// Matrix products through oneDNN's matmul primitive, for the shapes where it
// beats OpenBLAS (Gemm in math.cpp decides). Builds with oneDNN only.
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

}  // namespace cortado

#endif  // CORTADO_WITH_DNNL

#endif  // CORTADO_SRC_UTIL_DNNL_GEMM_HPP_
