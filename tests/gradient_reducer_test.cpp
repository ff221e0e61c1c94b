// GradientReducer over a fake communicator: every gradient is reduced once,
// in buckets that start during backward as soon as their gradients are
// final (shared parameters included), and averages come back exactly.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/gradient_reducer.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "cortado/rng.hpp"

namespace cortado {
namespace {

// Two replicas in one process: the "other" replica's gradient is always this
// one's plus 2, so the sum is 2g + 2 and the average g + 1, exactly in float.
class PairedCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string Describe() const override { return "paired test replica"; }
  bool device_buffers() const override { return false; }
  void StartAllreduceSum(float* data, int64_t count) override {
    for (int64_t i = 0; i < count; ++i) data[i] = 2 * data[i] + 2;
    starts_at_poll.push_back(polls);
    started_floats += count;
  }
  void Poll() override { ++polls; }
  void WaitAll() override { ++waits; }
  void Broadcast(float* data, int64_t count, int root) override {}
  void AllreduceSumHost(double* values, int count) override {
    for (int i = 0; i < count; ++i) values[i] *= 2;
  }

  std::vector<int> starts_at_poll;  // layers finished when each bucket started
  int64_t started_floats = 0;
  int polls = 0;
  int waits = 0;
};

// Five layers; "ip1" and "ip3" share their weights, so that gradient is
// complete only after ip1's backward (layer 1), though ip3 (layer 3) uses it.
const char kNet[] = R"(
  name: "shared"
  layer { name: "in" type: "Input" top: "x" top: "t"
          input_param { shape { dim: 3 dim: 4 } shape { dim: 3 dim: 4 } } }
  layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "h1"
          param { name: "w" } param { name: "b1" }
          inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 0.5 }
                                bias_filler { type: "constant" value: 0.1 } } }
  layer { name: "ip2" type: "InnerProduct" bottom: "h1" top: "h2"
          inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 0.5 } } }
  layer { name: "ip3" type: "InnerProduct" bottom: "h2" top: "h3"
          param { name: "w" } param { name: "b3" }
          inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 0.5 } } }
  layer { name: "loss" type: "EuclideanLoss" bottom: "h3" bottom: "t" top: "loss" }
)";

std::unique_ptr<Net> MakeNet() {
  SetRandomSeed(11);
  caffe::NetParameter param;
  ReadProtoFromTextString(kNet, "reducer test net", &param);
  param.mutable_state()->set_phase(caffe::TRAIN);
  auto net = std::make_unique<Net>(param);
  float* x = net->blob_by_name("x")->mutable_cpu_data();
  float* t = net->blob_by_name("t")->mutable_cpu_data();
  for (int i = 0; i < 12; ++i) {
    x[i] = 0.1f * i - 0.5f;
    t[i] = 0.05f * (i % 5);
  }
  return net;
}

std::vector<std::vector<float>> Diffs(const Net& net) {
  std::vector<std::vector<float>> diffs;
  for (const Blob* p : net.learnable_params()) {
    diffs.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
  }
  return diffs;
}

TEST(GradientReducerTest, SharedParameterIsFinalAtItsFirstUser) {
  auto net = MakeNet();
  // Learnable params: w (ip1), b1, ip2 weight, ip2 bias, b3.
  EXPECT_EQ(net->LearnableParamFinalLayers(), (std::vector<int>{1, 1, 2, 2, 3}));
}

TEST(GradientReducerTest, AveragesEveryGradientOnceAndStartsDuringBackward) {
  for (int64_t bucket_bytes : {int64_t{4}, int64_t{64}, GradientReducer::kDefaultBucketBytes}) {
    SCOPED_TRACE(bucket_bytes);
    auto reference = MakeNet();
    reference->ForwardBackward();
    const std::vector<std::vector<float>> expected = Diffs(*reference);

    auto net = MakeNet();
    PairedCommunicator comm;
    GradientReducer reducer(net.get(), &comm, bucket_bytes);
    int64_t total = 0;
    for (const Blob* p : net->learnable_params()) total += p->count();
    EXPECT_EQ(reducer.bytes_per_iteration(), total * 4);
    reducer.Arm();
    net->ForwardBackward();
    // Every bucket went out during the pass, none waiting for Finish.
    EXPECT_EQ(static_cast<int>(comm.starts_at_poll.size()), reducer.num_buckets());
    EXPECT_EQ(comm.started_floats, total);
    reducer.Finish();
    EXPECT_EQ(comm.waits, 1);
    const std::vector<std::vector<float>> reduced = Diffs(*net);
    ASSERT_EQ(reduced.size(), expected.size());
    for (size_t p = 0; p < expected.size(); ++p) {
      for (size_t i = 0; i < expected[p].size(); ++i) {
        // Packing before the shared weight's gradient was complete would
        // miss ip1's contribution here.
        ASSERT_EQ(reduced[p][i], expected[p][i] + 1) << "param " << p << " element " << i;
      }
    }
    if (bucket_bytes == 4) {
      // One bucket per parameter, started in backward order, each right
      // after the layer that completes it: b3 after ip3 (the loss layer's
      // step came first: 1 poll before), ip2's two after ip2 (2 polls), and
      // the shared w with b1 only after ip1 (3 polls).
      EXPECT_EQ(comm.starts_at_poll, (std::vector<int>{1, 2, 2, 3, 3}));
    }
    if (bucket_bytes == GradientReducer::kDefaultBucketBytes) {
      EXPECT_EQ(reducer.num_buckets(), 1);
    }
  }
}

TEST(GradientReducerTest, UnarmedPassesAccumulateAndFinishSendsEverything) {
  // iter_size > 1: earlier passes only accumulate; Finish sends what no
  // armed pass did.
  auto net = MakeNet();
  PairedCommunicator comm;
  GradientReducer reducer(net.get(), &comm, 4);
  net->ForwardBackward();
  EXPECT_TRUE(comm.starts_at_poll.empty());
  reducer.Finish();
  EXPECT_EQ(static_cast<int>(comm.starts_at_poll.size()), reducer.num_buckets());
}

TEST(GradientReducerTest, DetachesFromTheNet) {
  auto net = MakeNet();
  PairedCommunicator comm;
  {
    GradientReducer reducer(net.get(), &comm, 4);
  }
  net->ForwardBackward();  // the hook must be gone, not dangling
  EXPECT_TRUE(comm.starts_at_poll.empty());
}

}  // namespace
}  // namespace cortado
