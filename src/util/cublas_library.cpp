// Opens cuBLAS on first use (see cublas_library.hpp for why).
#ifdef CORTADO_WITH_CUDA
#include "cortado/cublas_library.hpp"

#include <dlfcn.h>

#include <string>

#include <cuda_runtime.h>

#include "cortado/common.hpp"

namespace cortado {
namespace cuda {
namespace {

// The folder of the loaded CUDA runtime: libcublas sits beside it in every
// CUDA installation, even when that folder is only on this library's RUNPATH.
std::string CudaRuntimeFolder() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&cudaGetDeviceCount), &info) == 0 || !info.dli_fname) {
    return "";
  }
  const std::string path = info.dli_fname;
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

void* OpenLibrary(std::string* tried) {
  const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  for (const std::string& path : {name, CudaRuntimeFolder() + name}) {
    if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
    const char* reason = dlerror();
    *tried += (tried->empty() ? "" : "; ") + path + ": " + (reason ? reason : "not found");
  }
  return nullptr;
}

template <typename Function>
void Resolve(void* handle, const char* symbol, Function* function) {
  *function = reinterpret_cast<Function>(dlsym(handle, symbol));
  if (!*function) {
    ThrowError("cuBLAS library lacks ", symbol, " (", CUBLAS_VER_MAJOR, ".x headers expected)");
  }
}

CublasLibrary Load() {
  std::string tried;
  void* handle = OpenLibrary(&tried);
  if (!handle) ThrowError("cannot load cuBLAS, which GPU layers need: ", tried);
  CublasLibrary library;
  Resolve(handle, "cublasCreate_v2", &library.Create);
  Resolve(handle, "cublasDestroy_v2", &library.Destroy);
  Resolve(handle, "cublasSetMathMode", &library.SetMathMode);
  Resolve(handle, "cublasGetStatusString", &library.GetStatusString);
  Resolve(handle, "cublasSgemm_v2", &library.Sgemm);
  Resolve(handle, "cublasSgemv_v2", &library.Sgemv);
  Resolve(handle, "cublasSaxpy_v2", &library.Saxpy);
  Resolve(handle, "cublasSdot_v2", &library.Sdot);
  Resolve(handle, "cublasSasum_v2", &library.Sasum);
  return library;  // the handle stays open for the life of the process
}

}  // namespace

const CublasLibrary& Cublas() {
  // A failed load throws out of the initialiser; the next call tries again.
  static const CublasLibrary library = Load();
  return library;
}

}  // namespace cuda
}  // namespace cortado

#endif  // CORTADO_WITH_CUDA
