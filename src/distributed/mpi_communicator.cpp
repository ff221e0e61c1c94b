// Communicator over MPI: the processes mpirun started, each with its own
// replica of the net, reducing gradients in host memory.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>  // setenv
#include <vector>

#include "cortado/common.hpp"
#include "cortado/communicator.hpp"

namespace cortado {
namespace {

// MPI counts are ints; larger buffers go in pieces of this many elements.
constexpr int64_t kMaxMpiCount = int64_t{1} << 30;

bool MpiStarted() {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() {
    // A private communicator keeps our collectives apart from any a host
    // program (or a Python script using mpi4py) runs on MPI_COMM_WORLD.
    MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    char name[MPI_MAX_PROCESSOR_NAME];
    int length = 0;
    MPI_Get_processor_name(name, &length);
    host_.assign(name, length);
  }
  ~MpiCommunicator() override {
    if (!MpiStarted()) return;
    WaitAll();
    MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string Describe() const override {
    return StrCat("MPI rank ", rank_, " of ", size_, " (host ", host_, ")");
  }
  bool device_buffers() const override { return false; }

  void StartAllreduceSum(float* data, int64_t count) override {
    for (int64_t offset = 0; offset < count; offset += kMaxMpiCount) {
      const int piece = static_cast<int>(std::min(kMaxMpiCount, count - offset));
      MPI_Request request;
      MPI_Iallreduce(MPI_IN_PLACE, data + offset, piece, MPI_FLOAT, MPI_SUM, comm_, &request);
      requests_.push_back(request);
    }
  }

  void Poll() override {
    if (requests_.empty()) return;
    int done = 0;
    MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &done,
                MPI_STATUSES_IGNORE);
    if (done) requests_.clear();
  }

  void WaitAll() override {
    if (requests_.empty()) return;
    MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    requests_.clear();
  }

  void Broadcast(float* data, int64_t count, int root) override {
    for (int64_t offset = 0; offset < count; offset += kMaxMpiCount) {
      const int piece = static_cast<int>(std::min(kMaxMpiCount, count - offset));
      MPI_Bcast(data + offset, piece, MPI_FLOAT, root, comm_);
    }
  }

  void AllreduceSumHost(double* values, int count) override {
    MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, comm_);
  }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::string host_;
  std::vector<MPI_Request> requests_;
};

}  // namespace

bool MpiBuilt() { return true; }

std::unique_ptr<Communicator> OpenMpiWorld() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // OpenMPI's default nonblocking allreduce (binomial) runs at 3.7 GB/s
    // on 4 MB buckets here; Rabenseifner's reduce-scatter + allgather at
    // 14 GB/s (bench/allreduce_bench.cpp). A user's own setting wins.
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "3", /*overwrite=*/0);
    // Only the thread that starts MPI calls it (the solver's thread); data
    // layers' prefetch threads never do.
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  return std::make_unique<MpiCommunicator>();
}

void AbortMpiJob(const std::string& message) {
  if (!MpiStarted()) {
    std::fprintf(stderr, "cortado: error: %s\n", message.c_str());
    std::exit(1);
  }
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::fprintf(stderr, "cortado: error on MPI rank %d of %d: %s\n", rank, size, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::exit(1);  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

void FinalizeMpi() {
  if (MpiStarted()) MPI_Finalize();
}

}  // namespace cortado
