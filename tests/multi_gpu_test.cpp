// Data-parallel training on GPUs with NCCL, and passes issued from threads
// other than the one that built the net. Each test needs a number of GPUs
// and reports itself skipped where there are fewer.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/device.hpp"
#include "cortado/io.hpp"
#include "cortado/nccl.hpp"
#include "cortado/rng.hpp"
#include "cortado/solver.hpp"
#ifdef CORTADO_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace cortado {
namespace {

#define CORTADO_NEED_GPUS(n)                                                           \
  if (CudaDeviceCount() < (n)) {                                                       \
    GTEST_SKIP() << "skipped: needs " << (n) << " GPU(s), found " << CudaDeviceCount() \
                 << " (" << CudaUnavailableReason() << ")";                           \
  }

caffe::SolverParameter RegressionSolver(int batch, int device) {
  caffe::SolverParameter param;
  ReadProtoFromTextString("base_lr: 0.02 momentum: 0.9 lr_policy: \"fixed\" max_iter: 20 "
                          "random_seed: 3 solver_mode: GPU",
                          "solver", &param);
  param.set_device_id(device);
  ReadProtoFromTextString(StrCat(R"(
    name: "regression"
    layer { name: "data" type: "DummyData" top: "data" top: "target"
            dummy_data_param { shape { dim: )", batch, R"( dim: 6 } shape { dim: )", batch,
                                 R"( dim: 2 }
                               data_filler { type: "gaussian" std: 1 }
                               data_filler { type: "gaussian" std: 1 } } }
    layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
            inner_product_param { num_output: 2 weight_filler { type: "xavier" } } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "target" top: "loss" }
  )"),
                          "net", param.mutable_net_param());
  return param;
}

TEST(NcclTest, OneGpuGroupSumsAndBroadcastsInPlace) {
  CORTADO_NEED_GPUS(1);
  std::vector<std::unique_ptr<Communicator>> group = OpenNcclGroup({0});
  ASSERT_EQ(group.size(), 1u);
  EXPECT_EQ(group[0]->size(), 1);
  EXPECT_TRUE(group[0]->device_buffers());
  Blob blob({1000});
  for (int i = 0; i < 1000; ++i) blob.mutable_cpu_data()[i] = 0.5f * i;
  group[0]->StartAllreduceSum(blob.mutable_gpu_data(), blob.count());
  group[0]->WaitAll();
  group[0]->Broadcast(blob.mutable_gpu_data(), blob.count(), 0);
  EXPECT_EQ(blob.cpu_data()[999], 0.5f * 999);
  double values[2] = {1.5, -2};
  group[0]->AllreduceSumHost(values, 2);
  EXPECT_EQ(values[0], 1.5);
  EXPECT_EQ(values[1], -2);
}

TEST(NcclTest, TwoGpuReplicasStayIdenticalOnTheirOwnThreads) {
  CORTADO_NEED_GPUS(2);
  std::vector<std::unique_ptr<Communicator>> group = OpenNcclGroup({0, 1});
  std::vector<std::unique_ptr<Solver>> solvers;
  for (int i = 0; i < 2; ++i) {
    ActivateDevice(Device::Cuda(i));
    solvers.push_back(CreateSolver(RegressionSolver(4, i)));
    solvers.back()->set_communicator(group[i].get());
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      SetRandomSeed(3);
      ReseedReplica(solvers[i]->param(), i);  // different data on each GPU
      solvers[i]->Solve();
    });
  }
  for (std::thread& t : threads) t.join();
  const Blob* w0 = solvers[0]->net()->learnable_params()[0];
  const Blob* w1 = solvers[1]->net()->learnable_params()[0];
  ASSERT_EQ(w0->count(), w1->count());
  for (int64_t i = 0; i < w0->count(); ++i) EXPECT_EQ(w0->cpu_data()[i], w1->cpu_data()[i]) << i;
  EXPECT_NE(solvers[0]->net()->blob_by_name("data")->cpu_data()[0],
            solvers[1]->net()->blob_by_name("data")->cpu_data()[0]);
}

TEST(MultiGpuTest, PassesFromAnotherThreadRunOnTheNetsGpu) {
  CORTADO_NEED_GPUS(2);
#ifdef CORTADO_WITH_CUDA
  ActivateDevice(Device::Cuda(1));
  auto solver = CreateSolver(RegressionSolver(4, 1));
  int device_during_pass = -1;
  std::thread other([&] {
    // A fresh thread starts on device 0; the net must make its own current.
    solver->net()->ForwardBackward();
    cudaGetDevice(&device_during_pass);
  });
  other.join();
  EXPECT_EQ(device_during_pass, 1);
#endif
}

}  // namespace
}  // namespace cortado
