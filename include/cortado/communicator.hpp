// Communicator: the replicas (MPI processes or GPUs) that train one model
// data-parallel, and the collective operations gradient averaging needs.
#ifndef CORTADO_COMMUNICATOR_HPP_
#define CORTADO_COMMUNICATOR_HPP_

#include <cstdint>
#include <memory>
#include <string>

namespace cortado {

class Communicator {
 public:
  virtual ~Communicator() = default;

  // This replica's index and the number of replicas; replica 0 is the root,
  // which alone logs, tests and writes snapshots.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "MPI rank 1 of 4 (host h)", for logs and errors.
  virtual std::string Describe() const = 0;
  // Whether the buffers given to StartAllreduceSum and Broadcast live on the
  // GPU (NCCL) rather than in host memory (MPI).
  virtual bool device_buffers() const = 0;

  // Starts summing `count` floats at `data` over all replicas, in place, and
  // returns at once; WaitAll finishes every reduction started. Every replica
  // must start the same reductions in the same order.
  virtual void StartAllreduceSum(float* data, int64_t count) = 0;
  // Lets reductions in flight progress (MPI moves data only inside calls).
  virtual void Poll() {}
  virtual void WaitAll() = 0;
  // Copies root's `count` floats at `data` to every replica.
  virtual void Broadcast(float* data, int64_t count, int root) = 0;
  // Sums a few host values over all replicas (losses, votes), blocking.
  virtual void AllreduceSumHost(double* values, int count) = 0;
};

// MPI, when this build has it (CMake found OpenMPI). Processes started by
// mpirun with more than one rank train data-parallel.
bool MpiBuilt();
// The number of processes mpirun started (from its environment), or 1 when
// this process was not started by mpirun; works in builds without MPI, so
// that such a build can refuse to train N independent copies.
int MpiLaunchSize();
// Initialises MPI once per process and returns a communicator over all its
// ranks; throws Error in builds without MPI.
std::unique_ptr<Communicator> OpenMpiWorld();
// Ends the whole MPI job after an error on this rank: the message, naming
// the rank, goes to stderr, and mpirun stops the other ranks.
[[noreturn]] void AbortMpiJob(const std::string& message);
// Shuts MPI down cleanly at the end of a successful run (no-op without MPI).
void FinalizeMpi();

}  // namespace cortado

#endif  // CORTADO_COMMUNICATOR_HPP_
