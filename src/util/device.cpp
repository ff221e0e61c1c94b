// Device discovery and selection; compiled in every build, CUDA calls only
// in CUDA builds.
#include "cortado/device.hpp"

#include "cortado/common.hpp"

#ifdef CORTADO_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace cortado {

std::string Device::ToString() const {
  return is_cuda() ? StrCat("GPU ", id_) : std::string("CPU");
}

bool CudaBuilt() {
#ifdef CORTADO_WITH_CUDA
  return true;
#else
  return false;
#endif
}

namespace {

#ifdef CORTADO_WITH_CUDA
// Asked once: the answer cannot change while the process runs.
struct CudaProbe {
  int count = 0;
  std::string reason;
};

const CudaProbe& Probe() {
  static const CudaProbe probe = [] {
    CudaProbe p;
    const cudaError_t status = cudaGetDeviceCount(&p.count);
    if (status != cudaSuccess) {
      p.count = 0;
      p.reason = cudaGetErrorString(status);
      cudaGetLastError();  // clear the sticky error so later calls start clean
    } else if (p.count == 0) {
      p.reason = "the CUDA driver reports no devices";
    }
    return p;
  }();
  return probe;
}
#endif

}  // namespace

int CudaDeviceCount() {
#ifdef CORTADO_WITH_CUDA
  return Probe().count;
#else
  return 0;
#endif
}

std::string CudaUnavailableReason() {
#ifdef CORTADO_WITH_CUDA
  return Probe().reason;
#else
  return "this build of Cortado has no CUDA backend (CORTADO_CUDA=OFF or no CUDA toolkit)";
#endif
}

void ActivateDevice(const Device& device) {
  if (!device.is_cuda()) return;
  const int count = CudaDeviceCount();
  if (count == 0) ThrowError("GPU ", device.id(), " requested but no GPU is usable: ",
                             CudaUnavailableReason());
  if (device.id() < 0 || device.id() >= count) {
    ThrowError("GPU ", device.id(), " does not exist: this machine has ", count,
               " GPU(s), numbered 0 to ", count - 1);
  }
#ifdef CORTADO_WITH_CUDA
  const cudaError_t status = cudaSetDevice(device.id());
  if (status != cudaSuccess) {
    ThrowError("cannot use GPU ", device.id(), ": ", cudaGetErrorString(status));
  }
#endif
}

void SynchronizeDevice(const Device& device) {
  if (!device.is_cuda()) return;
#ifdef CORTADO_WITH_CUDA
  const cudaError_t status = cudaDeviceSynchronize();
  if (status != cudaSuccess) {
    ThrowError("GPU ", device.id(), " reported an error: ", cudaGetErrorString(status));
  }
#endif
}

std::string DescribeCudaDevice(int id) {
  ActivateDevice(Device::Cuda(id));
#ifdef CORTADO_WITH_CUDA
  cudaDeviceProp prop;
  const cudaError_t status = cudaGetDeviceProperties(&prop, id);
  if (status != cudaSuccess) {
    ThrowError("cannot query GPU ", id, ": ", cudaGetErrorString(status));
  }
  int runtime = 0;
  int driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  std::ostringstream out;
  out << "Device id:                     " << id << "\n"
      << "Name:                          " << prop.name << "\n"
      << "Compute capability:            " << prop.major << "." << prop.minor << "\n"
      << "Total global memory:           " << prop.totalGlobalMem << "\n"
      << "Total shared memory per block: " << prop.sharedMemPerBlock << "\n"
      << "Total registers per block:     " << prop.regsPerBlock << "\n"
      << "Warp size:                     " << prop.warpSize << "\n"
      << "Maximum threads per block:     " << prop.maxThreadsPerBlock << "\n"
      << "Number of multiprocessors:     " << prop.multiProcessorCount << "\n"
      << "L2 cache size:                 " << prop.l2CacheSize << "\n"
      << "ECC enabled:                   " << (prop.ECCEnabled ? "Yes" : "No") << "\n"
      << "CUDA runtime / driver:         " << runtime << " / " << driver << "\n";
  return out.str();
#else
  return "";
#endif
}

}  // namespace cortado
