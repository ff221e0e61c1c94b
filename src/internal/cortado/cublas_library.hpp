// cuBLAS, opened when a GPU first needs it rather than linked. Loading
// libcublas pulls in libcublasLt, which costs about 150 MiB of resident
// memory at load time; a CPU-only process (no GPU, or a CPU run on a GPU
// machine) should not pay for it.
// Only CUDA builds include this (guard with CORTADO_WITH_CUDA).
#ifndef CORTADO_CUBLAS_LIBRARY_HPP_
#define CORTADO_CUBLAS_LIBRARY_HPP_

#ifndef CORTADO_WITH_CUDA
#error "cortado/cublas_library.hpp is for CUDA builds only"
#endif

#include <cublas_v2.h>

namespace cortado {
namespace cuda {

// The entry points Cortado calls (cublas_v2.h's names map to these _v2
// symbols).
struct CublasLibrary {
  decltype(&cublasCreate_v2) Create;
  decltype(&cublasDestroy_v2) Destroy;
  decltype(&cublasSetMathMode) SetMathMode;
  decltype(&cublasGetStatusString) GetStatusString;
  decltype(&cublasSgemm_v2) Sgemm;
  decltype(&cublasSgemv_v2) Sgemv;
  decltype(&cublasSaxpy_v2) Saxpy;
  decltype(&cublasSdot_v2) Sdot;
  decltype(&cublasSasum_v2) Sasum;
};

// Opens libcublas.so.<major of the headers> on the first call (thread-safe),
// looking where the dynamic linker looks and then beside the CUDA runtime
// this process loaded. Throws an error naming the library and dlerror()'s
// reason when it or one of its symbols is missing.
const CublasLibrary& Cublas();

}  // namespace cuda
}  // namespace cortado

#endif  // CORTADO_CUBLAS_LIBRARY_HPP_
