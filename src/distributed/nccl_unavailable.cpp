// Builds without CUDA: the NCCL communicators are refused with a clear error.
#include "cortado/common.hpp"
#include "cortado/nccl.hpp"

namespace cortado {

bool NcclBuilt() { return false; }

std::vector<std::unique_ptr<Communicator>> OpenNcclGroup(const std::vector<int>& devices) {
  ThrowError("training on several GPUs needs NCCL, and this build has no CUDA backend");
}

std::string NewNcclId() {
  ThrowError("NCCL needs a CUDA build of Cortado; this one has no CUDA backend");
}

std::unique_ptr<Communicator> OpenNcclMember(const std::string& id, int rank, int size,
                                             int device) {
  ThrowError("NCCL needs a CUDA build of Cortado; this one has no CUDA backend");
}

std::unique_ptr<Communicator> OpenNcclOverMpi(Communicator* mpi, int device) {
  ThrowError("NCCL needs a CUDA build of Cortado; this one has no CUDA backend");
}

}  // namespace cortado
