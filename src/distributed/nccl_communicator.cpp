// Communicator over NCCL: reductions run on a stream of their own, ordered
// after the compute stream's work with events, so they overlap backward.
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstring>

#include "cortado/common.hpp"
#include "cortado/cuda.hpp"
#include "cortado/device.hpp"
#include "cortado/nccl.hpp"

namespace cortado {
namespace {

void CheckNccl(ncclResult_t result, const char* what) {
  if (result != ncclSuccess) ThrowError("NCCL ", what, ": ", ncclGetErrorString(result));
}

class NcclCommunicator : public Communicator {
 public:
  // Takes ownership of comm; device is the GPU this replica computes on.
  NcclCommunicator(ncclComm_t comm, int rank, int size, int device)
      : comm_(comm), rank_(rank), size_(size), device_(device) {
    ActivateDevice(Device::Cuda(device_));
    cuda::Check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    cuda::Check(cudaEventCreateWithFlags(&compute_done_, cudaEventDisableTiming),
                "cudaEventCreate");
    cuda::Check(cudaMalloc(&host_values_, sizeof(double) * kMaxHostValues), "cudaMalloc");
  }
  ~NcclCommunicator() override {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
    cudaFree(host_values_);
    cudaEventDestroy(compute_done_);
    cudaStreamDestroy(stream_);
    ncclCommDestroy(comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string Describe() const override {
    return StrCat("NCCL replica ", rank_, " of ", size_, " (GPU ", device_, ")");
  }
  bool device_buffers() const override { return true; }

  void StartAllreduceSum(float* data, int64_t count) override {
    OrderAfterCompute();
    CheckNccl(ncclAllReduce(data, data, static_cast<size_t>(count), ncclFloat, ncclSum, comm_,
                            stream_),
              "allreduce");
  }
  void WaitAll() override { cuda::Check(cudaStreamSynchronize(stream_), "NCCL stream"); }

  void Broadcast(float* data, int64_t count, int root) override {
    OrderAfterCompute();
    CheckNccl(ncclBroadcast(data, data, static_cast<size_t>(count), ncclFloat, root, comm_,
                            stream_),
              "broadcast");
    WaitAll();
  }

  void AllreduceSumHost(double* values, int count) override {
    if (count > kMaxHostValues) ThrowError("NCCL: at most ", kMaxHostValues, " host values");
    cuda::Check(cudaMemcpyAsync(host_values_, values, sizeof(double) * count,
                                cudaMemcpyHostToDevice, stream_),
                "cudaMemcpyAsync");
    CheckNccl(ncclAllReduce(host_values_, host_values_, count, ncclDouble, ncclSum, comm_,
                            stream_),
              "allreduce");
    cuda::Check(cudaMemcpyAsync(values, host_values_, sizeof(double) * count,
                                cudaMemcpyDeviceToHost, stream_),
                "cudaMemcpyAsync");
    WaitAll();
  }

 private:
  static constexpr int kMaxHostValues = 16;

  // Layers work on the legacy default stream; the reduction must see what
  // they wrote.
  void OrderAfterCompute() {
    cuda::Check(cudaEventRecord(compute_done_, cudaStreamLegacy), "cudaEventRecord");
    cuda::Check(cudaStreamWaitEvent(stream_, compute_done_, 0), "cudaStreamWaitEvent");
  }

  ncclComm_t comm_;
  int rank_;
  int size_;
  int device_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t compute_done_ = nullptr;
  double* host_values_ = nullptr;  // device scratch for AllreduceSumHost
};

}  // namespace

bool NcclBuilt() { return true; }

std::vector<std::unique_ptr<Communicator>> OpenNcclGroup(const std::vector<int>& devices) {
  for (int device : devices) ActivateDevice(Device::Cuda(device));  // clear errors first
  std::vector<ncclComm_t> comms(devices.size());
  CheckNccl(ncclCommInitAll(comms.data(), static_cast<int>(devices.size()), devices.data()),
            "ncclCommInitAll");
  std::vector<std::unique_ptr<Communicator>> group;
  for (size_t i = 0; i < devices.size(); ++i) {
    group.push_back(std::make_unique<NcclCommunicator>(comms[i], static_cast<int>(i),
                                                       static_cast<int>(devices.size()),
                                                       devices[i]));
  }
  return group;
}

std::string NewNcclId() {
  ncclUniqueId id;
  CheckNccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  return std::string(id.internal, sizeof(id.internal));
}

std::unique_ptr<Communicator> OpenNcclMember(const std::string& id, int rank, int size,
                                             int device) {
  ncclUniqueId unique;
  if (id.size() != sizeof(unique.internal)) {
    ThrowError("NCCL id has ", id.size(), " bytes; expected ", sizeof(unique.internal),
               " (make it with NewNcclId / caffe.NCCL.new_uid())");
  }
  std::memcpy(unique.internal, id.data(), id.size());
  ActivateDevice(Device::Cuda(device));
  ncclComm_t comm;
  CheckNccl(ncclCommInitRank(&comm, size, unique, rank), "ncclCommInitRank");
  return std::make_unique<NcclCommunicator>(comm, rank, size, device);
}

std::unique_ptr<Communicator> OpenNcclOverMpi(Communicator* mpi, int device) {
  // The id travels as doubles through the only collective every
  // communicator has for host values: one byte per double, summed with
  // zeros from the other ranks.
  constexpr int kIdBytes = sizeof(ncclUniqueId::internal);
  std::string id = mpi->rank() == 0 ? NewNcclId() : std::string(kIdBytes, '\0');
  std::string result(kIdBytes, '\0');
  for (int start = 0; start < kIdBytes; start += 16) {
    double values[16];
    const int n = std::min(16, kIdBytes - start);
    for (int i = 0; i < n; ++i) values[i] = static_cast<unsigned char>(id[start + i]);
    mpi->AllreduceSumHost(values, n);
    for (int i = 0; i < n; ++i) result[start + i] = static_cast<char>(static_cast<int>(values[i]));
  }
  return OpenNcclMember(result, mpi->rank(), mpi->size(), device);
}

}  // namespace cortado
