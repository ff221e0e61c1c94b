// Run by mpirun with several ranks (ctest: mpi.data_parallel): MPI
// collectives, and solver replicas that stay bit-identical while each rank
// trains on different data.
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/communicator.hpp"
#include "cortado/io.hpp"
#include "cortado/rng.hpp"
#include "cortado/solver.hpp"

namespace cortado {
namespace {

Communicator* world = nullptr;

// Element i of rank r's buffer.
float Value(int rank, int64_t i) { return static_cast<float>((i % 97) * 0.25 + rank); }

TEST(MpiCommunicatorTest, SumsBroadcastsAndAddsHostValues) {
  const int size = world->size();
  const int rank = world->rank();
  // Two reductions in flight at once, as buckets are.
  std::vector<float> a(1 << 20), b(1000);
  for (int64_t i = 0; i < static_cast<int64_t>(a.size()); ++i) a[i] = Value(rank, i);
  for (int64_t i = 0; i < static_cast<int64_t>(b.size()); ++i) b[i] = Value(rank, i) * 2;
  world->StartAllreduceSum(a.data(), a.size());
  world->StartAllreduceSum(b.data(), b.size());
  world->Poll();
  world->WaitAll();
  for (int64_t i = 0; i < static_cast<int64_t>(a.size()); i += 4099) {
    float expected = 0;
    for (int r = 0; r < size; ++r) expected += Value(r, i);
    ASSERT_FLOAT_EQ(a[i], expected) << i;
  }
  float expected_b = 0;
  for (int r = 0; r < size; ++r) expected_b += Value(r, 7) * 2;
  EXPECT_FLOAT_EQ(b[7], expected_b);

  const int root = size - 1;
  std::vector<float> c(333, static_cast<float>(rank));
  world->Broadcast(c.data(), c.size(), root);
  EXPECT_EQ(c[0], static_cast<float>(root));
  EXPECT_EQ(c[332], static_cast<float>(root));

  double host[2] = {1.0, static_cast<double>(rank)};
  world->AllreduceSumHost(host, 2);
  EXPECT_EQ(host[0], size);
  EXPECT_EQ(host[1], size * (size - 1) / 2.0);
}

// Each rank's DummyData draws from its own generator (ReseedReplica), so
// every rank's gradients differ; only the averaging keeps them in step.
uint64_t Fnv1a(const void* data, size_t bytes, uint64_t hash) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 1099511628211ull;
  return hash;
}

TEST(MpiSolverTest, ReplicasStayIdenticalAfter50Iterations) {
  for (const char* type : {"SGD", "Adam"}) {
    SCOPED_TRACE(type);
    caffe::SolverParameter param;
    ReadProtoFromTextString(
        "base_lr: 0.01 momentum: 0.9 lr_policy: \"fixed\" max_iter: 50 weight_decay: 0.001",
        "solver", &param);
    param.set_type(type);
    ReadProtoFromTextString(R"(
      name: "replicas"
      layer { name: "data" type: "DummyData" top: "data" top: "target"
              dummy_data_param { shape { dim: 6 dim: 2 dim: 7 dim: 7 } shape { dim: 6 dim: 3 }
                                 data_filler { type: "gaussian" std: 1 }
                                 data_filler { type: "gaussian" std: 1 } } }
      layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
              convolution_param { num_output: 3 kernel_size: 3
                                  weight_filler { type: "xavier" } } }
      layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
      layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip"
              inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
      layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "target" top: "loss" }
    )", "net", param.mutable_net_param());
    ShareRandomSeed(&param, world);
    auto solver = CreateSolver(param);
    solver->set_communicator(world);
    ReseedReplica(param, world->rank());
    solver->Solve();
    ASSERT_EQ(solver->iter(), 50);

    uint64_t hash = 1469598103934665603ull;
    std::vector<Blob*> blobs = solver->net()->learnable_params();
    for (Blob* h : solver->history_blobs()) blobs.push_back(h);
    ASSERT_GT(blobs.size(), 4u);
    for (const Blob* blob : blobs) hash = Fnv1a(blob->cpu_data(), blob->count() * 4, hash);
    // Every rank's hash, gathered by summing a vector with one slot per rank
    // (32-bit halves travel exactly in doubles).
    std::vector<double> hashes(2 * world->size(), 0.0);
    hashes[2 * world->rank()] = static_cast<double>(hash >> 32);
    hashes[2 * world->rank() + 1] = static_cast<double>(hash & 0xffffffffu);
    world->AllreduceSumHost(hashes.data(), static_cast<int>(hashes.size()));
    for (int r = 1; r < world->size(); ++r) {
      EXPECT_EQ(hashes[2 * r], hashes[0]) << "rank " << r << " parameters or history differ";
      EXPECT_EQ(hashes[2 * r + 1], hashes[1]) << "rank " << r << " parameters or history differ";
    }
    // And they did train on different data: the data blobs differ by rank.
    double first = solver->net()->blob_by_name("data")->cpu_data()[0];
    std::vector<double> firsts(world->size(), 0.0);
    firsts[world->rank()] = first;
    world->AllreduceSumHost(firsts.data(), world->size());
    if (world->size() > 1) EXPECT_NE(firsts[0], firsts[1]);
  }
}

}  // namespace
}  // namespace cortado

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  google::InitGoogleLogging(argv[0]);
  std::unique_ptr<cortado::Communicator> world = cortado::OpenMpiWorld();
  cortado::world = world.get();
  // Every rank prints its own report, so a failure on any rank is seen.
  if (world->rank() != 0) FLAGS_minloglevel = google::GLOG_ERROR;
  const int status = RUN_ALL_TESTS();
  world.reset();
  cortado::FinalizeMpi();
  return status;
}
