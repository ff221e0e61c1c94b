// Communicators over NVIDIA's NCCL, reducing gradients in GPU memory: one
// process driving several GPUs from its threads, or one GPU per MPI rank.
// Compiled in every CUDA build; without CUDA these throw Error.
#ifndef CORTADO_NCCL_HPP_
#define CORTADO_NCCL_HPP_

#include <memory>
#include <string>
#include <vector>

#include "cortado/communicator.hpp"

namespace cortado {

bool NcclBuilt();

// One communicator per GPU id, replica i on devices[i]; each is then used
// from one thread only (the thread that trains on that GPU).
std::vector<std::unique_ptr<Communicator>> OpenNcclGroup(const std::vector<int>& devices);

// NCCL's unique id as bytes: made by one replica, handed to the others
// (through MPI, or by a Python script), and used by all to join one group.
std::string NewNcclId();
// Joins the group `id` as replica `rank` of `size`, on GPU `device`.
std::unique_ptr<Communicator> OpenNcclMember(const std::string& id, int rank, int size,
                                             int device);
// NCCL across the ranks of an MPI communicator, each on GPU `device`.
std::unique_ptr<Communicator> OpenNcclOverMpi(Communicator* mpi, int device);

}  // namespace cortado

#endif  // CORTADO_NCCL_HPP_
