// Status checks, per-thread library handles and workspace for the CUDA backend.
#ifdef CORTADO_WITH_CUDA
#include "cortado/cuda.hpp"

#include <map>

#include "cortado/cublas_library.hpp"

namespace cortado {
namespace cuda {

void Check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) ThrowError("CUDA error in ", what, ": ", cudaGetErrorString(status));
}

void Check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    ThrowError("cuBLAS error in ", what, ": ", Cublas().GetStatusString(status));
  }
}

void Check(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) {
    ThrowError("cuDNN error in ", what, ": ", cudnnGetErrorString(status));
  }
}

void CheckLaunch(const char* kernel) { Check(cudaGetLastError(), kernel); }

namespace {

int CurrentDevice() {
  int device = 0;
  Check(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

// Per thread and device: a handle is not safe to share between threads
// that run at once, and belongs to the device current at creation.
struct ThreadHandles {
  std::map<int, cublasHandle_t> cublas;
  std::map<int, cudnnHandle_t> cudnn;
  std::map<int, std::pair<void*, size_t>> workspace;
  ~ThreadHandles() {
    for (auto& [device, handle] : cublas) Cublas().Destroy(handle);
    for (auto& [device, handle] : cudnn) cudnnDestroy(handle);
    for (auto& [device, buffer] : workspace) cudaFree(buffer.first);
  }
};

ThreadHandles& Handles() {
  thread_local ThreadHandles handles;
  return handles;
}

}  // namespace

cublasHandle_t CublasHandle() {
  const int device = CurrentDevice();
  auto& handles = Handles().cublas;
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cublasHandle_t handle;
  Check(Cublas().Create(&handle), "cublasCreate");
  // Layers compute in float32; TF32 would change results beyond 1e-4.
  Check(Cublas().SetMathMode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  handles[device] = handle;
  return handle;
}

cudnnHandle_t CudnnHandle() {
  const int device = CurrentDevice();
  auto& handles = Handles().cudnn;
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cudnnHandle_t handle;
  Check(cudnnCreate(&handle), "cudnnCreate");
  handles[device] = handle;
  return handle;
}

void* Workspace(size_t bytes) {
  auto& buffer = Handles().workspace[CurrentDevice()];
  if (buffer.second < bytes) {
    if (buffer.first) Check(cudaFree(buffer.first), "cudaFree (workspace)");
    buffer.first = nullptr;
    Check(cudaMalloc(&buffer.first, bytes), "cudaMalloc (workspace)");
    buffer.second = bytes;
  }
  return buffer.first;
}

}  // namespace cuda
}  // namespace cortado
#endif  // CORTADO_WITH_CUDA
