// Memory planning changes where blobs live, never what they hold. Every
// conformance net gives bit-identical outputs planned and unplanned, and,
// with backward forced, bit-identical parameter and input gradients; again
// after every planned byte was overwritten with NaN between passes, so a
// layer that read a value left over from another blob would show.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/blob_memory_plan.hpp"
#include "cortado/device.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "cortado/net_summary.hpp"
#include "cortado/rng.hpp"
#include "conformance_dir.hpp"
#include "conformance_nets.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace {

using testing::ConformanceCaseName;
using testing::NetFiles;
using testing::PrepareNet;

void FillInputs(Net* net, unsigned seed) {
  for (size_t i = 0; i < net->input_blobs().size(); ++i) {
    testing::FillGaussian(net->input_blobs()[i], 0, 1, seed + i);
  }
}

// Overwrites every storage the plan placed, data and diff.
void PoisonPlannedStorage(Net* net) {
  ASSERT_NE(net->memory_plan(), nullptr);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const PlannedStorage& storage : net->memory_plan()->storages) {
    Blob* blob = storage.layer >= 0 ? net->layers()[storage.layer]->internal_blobs()[storage.internal]
                                    : net->blobs()[storage.blobs[0]].get();
    float* values = storage.diff ? blob->mutable_cpu_diff() : blob->mutable_cpu_data();
    std::fill(values, values + blob->count(), nan);
  }
}

::testing::AssertionResult BitIdentical(const Blob& expected, const Blob& actual, bool diff,
                                        const std::string& what) {
  if (expected.shape() != actual.shape()) {
    return ::testing::AssertionFailure() << what << ": shapes differ";
  }
  const float* a = diff ? expected.cpu_diff() : expected.cpu_data();
  const float* b = diff ? actual.cpu_diff() : actual.cpu_data();
  for (int64_t i = 0; i < expected.count(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      return ::testing::AssertionFailure()
             << what << (diff ? " diff" : " data") << " element " << i << ": " << a[i]
             << " unplanned, " << b[i] << " planned";
    }
  }
  return ::testing::AssertionSuccess();
}

// Planning never costs more than no planning, but for the 64-byte alignment
// of each placed storage (tiny nets).
int64_t PlannedCeiling(const BlobMemoryPlan& plan) {
  return plan.unplanned_bytes + 64 * static_cast<int64_t>(plan.storages.size());
}

// Two copies of one net with the same weights, planned and not.
struct NetPair {
  std::unique_ptr<Net> plain;
  std::unique_ptr<Net> planned;
};

NetPair MakePair(const std::string& relative, caffe::NetParameter param, bool recompute = false) {
  NetPair pair;
  param.set_plan_memory(false);
  pair.plain = std::make_unique<Net>(param);
  param.set_plan_memory(true);
  param.set_recompute_cheap_layers(recompute);
  pair.planned = std::make_unique<Net>(param);
  testing::LoadWeightsOrRandomize(pair.plain.get(), relative, "memory-plan");
  caffe::NetParameter values;
  pair.plain->ToProto(&values);
  pair.planned->CopyTrainedLayersFrom(values);
  return pair;
}

class MemoryPlanConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MemoryPlanConformanceTest, ForwardIsBitIdentical) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  const std::string& relative = GetParam();
  caffe::NetParameter param;
  if (!PrepareNet(relative, &param)) GTEST_SKIP() << relative << ": needs a missing layer type";
  SetRandomSeed(5);
  NetPair nets = MakePair(relative, param);
  const BlobMemoryPlan* plan = nets.planned->memory_plan();
  ASSERT_NE(plan, nullptr);
  ASSERT_EQ(nets.plain->memory_plan(), nullptr);
  const auto& need = nets.planned->layer_need_backward();
  EXPECT_EQ(plan->training, std::find(need.begin(), need.end(), true) != need.end());
  EXPECT_LE(plan->planned_bytes(), PlannedCeiling(*plan));
  std::printf("[memory-plan] %s: inference %lld of %lld bytes\n", relative.c_str(),
              static_cast<long long>(plan->planned_bytes()),
              static_cast<long long>(plan->unplanned_bytes));
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) PoisonPlannedStorage(nets.planned.get());
    FillInputs(nets.plain.get(), 17 + pass);
    FillInputs(nets.planned.get(), 17 + pass);
    SetRandomSeed(9);
    nets.plain->Forward();
    SetRandomSeed(9);
    nets.planned->Forward();
    for (size_t o = 0; o < nets.plain->output_blobs().size(); ++o) {
      EXPECT_TRUE(BitIdentical(*nets.plain->output_blobs()[o], *nets.planned->output_blobs()[o],
                               false, relative + " pass " + std::to_string(pass) + " output " +
                                          nets.plain->blob_names()[nets.plain->output_blob_indices()[o]]));
    }
  }
}

// Planned with recomputation or without.
void ExpectSameGradients(const std::string& relative, bool recompute) {
  caffe::NetParameter param;
  if (!PrepareNet(relative, &param)) GTEST_SKIP() << relative << ": needs a missing layer type";
  param.set_force_backward(true);
  SetRandomSeed(5);
  NetPair nets = MakePair(relative, param, recompute);
  const BlobMemoryPlan* plan = nets.planned->memory_plan();
  ASSERT_NE(plan, nullptr);
  ASSERT_TRUE(plan->training);
  EXPECT_LE(plan->planned_bytes(), PlannedCeiling(*plan));
  std::printf("[memory-plan] %s: training%s %lld of %lld bytes\n", relative.c_str(),
              recompute ? " (recomputing)" : "", static_cast<long long>(plan->planned_bytes()),
              static_cast<long long>(plan->unplanned_bytes));
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) PoisonPlannedStorage(nets.planned.get());
    for (Net* net : {nets.plain.get(), nets.planned.get()}) {
      FillInputs(net, 23 + pass);
      net->ClearParamDiffs();
      SetRandomSeed(9);
      net->Forward();
      for (size_t o = 0; o < net->output_blobs().size(); ++o) {
        Blob* out = net->output_blobs()[o];
        float* diff = out->mutable_cpu_diff();
        for (int64_t i = 0; i < out->count(); ++i) diff[i] = std::sin(0.37f * i + pass);
      }
      try {
        net->Backward();
      } catch (const Error& e) {
        // A layer with no backward (ArgMax, Accuracy) in the forced path.
        GTEST_SKIP() << relative << ": " << e.what();
      }
    }
    const std::string tag = relative + (recompute ? " recomputing" : "") + " pass " +
                            std::to_string(pass);
    for (size_t p = 0; p < nets.plain->learnable_params().size(); ++p) {
      ASSERT_TRUE(BitIdentical(*nets.plain->learnable_params()[p],
                               *nets.planned->learnable_params()[p], true,
                               tag + " parameter " + std::to_string(p)));
    }
    for (size_t i = 0; i < nets.plain->input_blobs().size(); ++i) {
      EXPECT_TRUE(BitIdentical(*nets.plain->input_blobs()[i], *nets.planned->input_blobs()[i],
                               true, tag + " input " + std::to_string(i)));
    }
  }
}

TEST_P(MemoryPlanConformanceTest, GradientsAreBitIdentical) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  ExpectSameGradients(GetParam(), false);
}

TEST_P(MemoryPlanConformanceTest, GradientsAreBitIdenticalWithRecomputation) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  ExpectSameGradients(GetParam(), true);
}

INSTANTIATE_TEST_SUITE_P(Nets, MemoryPlanConformanceTest, ::testing::ValuesIn(NetFiles()),
                         ConformanceCaseName);

constexpr char kChain[] = R"(
name: "chain"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "sig" type: "Sigmoid" bottom: "conv2" top: "sig" }
layer { name: "conv3" type: "Convolution" bottom: "sig" top: "conv3"
        convolution_param { num_output: 2 kernel_size: 1 weight_filler { type: "gaussian" std: 0.3 } } }
)";

std::unique_ptr<Net> ChainNet(bool plan) {
  caffe::NetParameter param;
  ReadProtoFromTextString(kChain, "chain", &param);
  param.mutable_state()->set_phase(caffe::TEST);
  param.set_plan_memory(plan);
  SetRandomSeed(3);
  return std::make_unique<Net>(param);
}

TEST(MemoryPlanTest, StorageIsReusedAndGrowingInputsReplan) {
  auto plain = ChainNet(false);
  auto planned = ChainNet(true);
  const BlobMemoryPlan* plan = planned->memory_plan();
  ASSERT_NE(plan, nullptr);
  // conv1 (also relu1's) and conv2 are both 2x4x8x8, dead by the time sig
  // and conv3 run: the arena holds less than the blobs.
  EXPECT_LT(plan->planned_bytes(), plan->unplanned_bytes);
  EXPECT_TRUE(planned->blob_by_name("conv1")->data_memory()->is_arena_view());
  EXPECT_FALSE(planned->blob_by_name("data")->data_memory()->is_arena_view());
  EXPECT_FALSE(planned->blob_by_name("conv3")->data_memory()->is_arena_view());
  for (int batch : {2, 5, 1}) {
    for (Net* net : {plain.get(), planned.get()}) {
      net->input_blobs()[0]->Reshape({batch, 3, 8, 8});
      net->Reshape();
      testing::FillGaussian(net->input_blobs()[0], 0, 1, batch);
      net->Forward();
    }
    EXPECT_TRUE(BitIdentical(*plain->output_blobs()[0], *planned->output_blobs()[0], false,
                             "batch " + std::to_string(batch)));
    EXPECT_TRUE(planned->blob_by_name("conv1")->data_memory()->is_arena_view());
  }
  // A batch the input grew to without Net::Reshape: the pass gives grown
  // blobs their own storage, and the next pass plans again.
  for (int pass = 0; pass < 2; ++pass) {
    for (Net* net : {plain.get(), planned.get()}) {
      net->input_blobs()[0]->Reshape({7, 3, 8, 8});
      testing::FillGaussian(net->input_blobs()[0], 0, 1, 40 + pass);
      net->Forward();
    }
    EXPECT_TRUE(BitIdentical(*plain->output_blobs()[0], *planned->output_blobs()[0], false,
                             "grown, pass " + std::to_string(pass)));
  }
  EXPECT_TRUE(planned->blob_by_name("conv1")->data_memory()->is_arena_view());
}

TEST(MemoryPlanTest, KeptBlobsHoldTheirValuesAndPlanningCanBeTurnedOff) {
  auto plain = ChainNet(false);
  auto planned = ChainNet(true);
  planned->KeepBlobs({"pool1"});
  EXPECT_FALSE(planned->blob_by_name("pool1")->data_memory()->is_arena_view());
  for (Net* net : {plain.get(), planned.get()}) {
    testing::FillGaussian(net->input_blobs()[0], 0, 1, 8);
    net->Forward();
  }
  EXPECT_TRUE(BitIdentical(*plain->blob_by_name("pool1"), *planned->blob_by_name("pool1"), false,
                           "kept pool1"));
  planned->set_plan_memory(false);
  EXPECT_EQ(planned->memory_plan(), nullptr);
  EXPECT_FALSE(planned->blob_by_name("conv2")->data_memory()->is_arena_view());
  planned->Forward();
  EXPECT_TRUE(BitIdentical(*plain->blob_by_name("conv2"), *planned->blob_by_name("conv2"), false,
                           "conv2 after planning was turned off"));
  // debug_info reads every blob: no plan while it is on.
  planned->set_plan_memory(true);
  ASSERT_NE(planned->memory_plan(), nullptr);
  planned->set_debug_info(true);
  EXPECT_EQ(planned->memory_plan(), nullptr);
  planned->set_debug_info(false);
  EXPECT_NE(planned->memory_plan(), nullptr);
}

TEST(MemoryPlanTest, PrototxtCanRefuseTheToolsDefault) {
  caffe::NetParameter param;
  ReadProtoFromTextString(kChain, "chain", &param);
  param.set_plan_memory(false);
  Net refused(param);
  refused.PlanMemoryUnlessRefused();
  EXPECT_EQ(refused.memory_plan(), nullptr);
  param.clear_plan_memory();
  Net silent(param);
  EXPECT_EQ(silent.memory_plan(), nullptr);  // the API's default: off
  silent.PlanMemoryUnlessRefused();
  EXPECT_NE(silent.memory_plan(), nullptr);
}

// Two forward-backward steps of an unplanned (nets[0]) and a planned
// (nets[1]) net, the second after the planned storage was poisoned: the
// output and every parameter gradient agree bit for bit. `output_diff` gives
// the output's gradient by element index.
void ExpectTwoStepsMatch(std::unique_ptr<Net> (&nets)[2], unsigned seed,
                         const std::function<float(int64_t)>& output_diff,
                         const std::string& tag) {
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) PoisonPlannedStorage(nets[1].get());
    for (auto& net : nets) {
      testing::FillGaussian(net->input_blobs()[0], 0, 1, seed + pass);
      net->ClearParamDiffs();
      net->Forward();
      Blob* out = net->output_blobs()[0];
      for (int64_t i = 0; i < out->count(); ++i) out->mutable_cpu_diff()[i] = output_diff(i);
      net->Backward();
    }
    const std::string step = " pass " + std::to_string(pass);
    EXPECT_TRUE(BitIdentical(*nets[0]->output_blobs()[0], *nets[1]->output_blobs()[0], false,
                             tag + "output" + step));
    for (size_t p = 0; p < nets[0]->learnable_params().size(); ++p) {
      EXPECT_TRUE(BitIdentical(*nets[0]->learnable_params()[p], *nets[1]->learnable_params()[p],
                               true, tag + "parameter " + std::to_string(p) + step));
    }
  }
}

// nets[0] unplanned and nets[1] planned (and recomputing, if asked), both
// built from `text` in the TRAIN phase with the same random parameters.
void BuildPlannedPair(const std::string& text, unsigned seed, bool recompute,
                      std::unique_ptr<Net> (&nets)[2]) {
  for (int planned = 0; planned < 2; ++planned) {
    caffe::NetParameter param;
    ReadProtoFromTextString(text, "planned pair", &param);
    param.mutable_state()->set_phase(caffe::TRAIN);
    param.set_plan_memory(planned == 1);
    param.set_recompute_cheap_layers(recompute && planned == 1);
    SetRandomSeed(seed);
    nets[planned] = std::make_unique<Net>(param);
  }
}

// Layers' own buffers (BatchNorm's normalised output with batch statistics,
// an in-place Scale's input, LRN's denominators) live in the arena too.
TEST(MemoryPlanTest, InternalBuffersArePlannedAndGradientsMatch) {
  constexpr char kNet[] = R"(
name: "internal"
force_backward: true
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 4 dim: 3 dim: 6 dim: 6 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 5 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" }
layer { name: "scale" type: "Scale" bottom: "conv" top: "conv" scale_param { bias_term: true } }
layer { name: "lrn" type: "LRN" bottom: "conv" top: "lrn" lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 } }
layer { name: "ip" type: "InnerProduct" bottom: "lrn" top: "ip"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.2 } } }
)";
  std::unique_ptr<Net> nets[2];
  BuildPlannedPair(kNet, 3, /*recompute=*/false, nets);
  const BlobMemoryPlan* plan = nets[1]->memory_plan();
  ASSERT_TRUE(plan->training);
  int internals = 0;
  for (const PlannedStorage& storage : plan->storages) internals += storage.layer >= 0;
  EXPECT_EQ(internals, 2);  // bn and lrn; scale reads bn's copy
  ASSERT_EQ(nets[1]->borrowed_snapshots().size(), 1u);
  for (const auto& layer : nets[1]->layers()) {
    for (const Blob* blob : layer->internal_blobs()) {
      if (blob->count() > 0) EXPECT_TRUE(blob->data_memory()->is_arena_view()) << layer->name();
    }
  }
  ExpectTwoStepsMatch(nets, 70, [](int64_t i) { return std::sin(0.3f * i); }, "");
}

// More layers' state in the arena: Eltwise MAX's argmax, an in-place
// PReLU's input and EuclideanLoss's difference.
TEST(MemoryPlanTest, MoreInternalBuffersArePlannedAndGradientsMatch) {
  constexpr char kNet[] = R"(
name: "more_internal"
force_backward: true
layer { name: "data" type: "Input" top: "data" top: "target"
        input_param { shape { dim: 4 dim: 3 dim: 5 dim: 5 } shape { dim: 4 dim: 2 } } }
layer { name: "conv_a" type: "Convolution" bottom: "data" top: "conv_a"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "conv_b" type: "Convolution" bottom: "data" top: "conv_b"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "max" type: "Eltwise" bottom: "conv_a" bottom: "conv_b" top: "max" eltwise_param { operation: MAX } }
layer { name: "prelu" type: "PReLU" bottom: "max" top: "max" prelu_param { filler { type: "constant" value: 0.3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "max" top: "ip"
        inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.2 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "target" top: "loss" }
)";
  std::unique_ptr<Net> nets[2];
  BuildPlannedPair(kNet, 13, /*recompute=*/false, nets);
  std::set<std::string> planned_layers;
  for (const PlannedStorage& storage : nets[1]->memory_plan()->storages) {
    if (storage.layer >= 0) planned_layers.insert(nets[1]->layer_names()[storage.layer]);
  }
  EXPECT_EQ(planned_layers, (std::set<std::string>{"max", "prelu", "loss"}));
  for (auto& net : nets) testing::FillGaussian(net->input_blobs()[1], 0, 1, 14);
  ExpectTwoStepsMatch(nets, 110, [](int64_t) { return 1.f; }, "");
}

// BatchNorm keeps its output for backward, and an in-place Scale after it
// would keep the same values again: the Scale reads BatchNorm's copy, and
// its gradients are those of a Scale that reads its own (un-overwritten)
// input. A layer in between that changes the values stops the sharing.
TEST(MemoryPlanTest, InPlaceScaleReadsBatchNormsCopyOfItsInput) {
  const auto net_text = [](const std::string& scale_top, bool relu_between) {
    return std::string(R"(
name: "snapshot"
force_backward: true
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 3 dim: 4 dim: 5 dim: 5 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 6 kernel_size: 3 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" }
)") + (relu_between ? R"(layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
)" : "") + R"(layer { name: "scale" type: "Scale" bottom: "conv" top: ")" + scale_top + R"("
        scale_param { bias_term: true filler { type: "gaussian" std: 1 } } }
layer { name: "ip" type: "InnerProduct" bottom: ")" + scale_top + R"(" top: "ip"
        inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.2 } } }
)";
  };
  const auto build = [](const std::string& text) {
    caffe::NetParameter param;
    ReadProtoFromTextString(text, "snapshot", &param);
    param.mutable_state()->set_phase(caffe::TRAIN);
    SetRandomSeed(5);
    return std::make_unique<Net>(param);
  };
  std::unique_ptr<Net> nets[2] = {build(net_text("scaled", false)), build(net_text("conv", false))};
  EXPECT_TRUE(nets[0]->borrowed_snapshots().empty());  // not in place: reads its bottom
  ASSERT_EQ(nets[1]->borrowed_snapshots().size(), 1u);
  const Net::BorrowedSnapshot& borrowed = nets[1]->borrowed_snapshots()[0];
  EXPECT_EQ(nets[1]->layer_names()[borrowed.owner], "bn");
  EXPECT_EQ(nets[1]->layer_names()[borrowed.borrower], "scale");
  const Layer& scale = *nets[1]->layer_by_name("scale");
  for (const Blob* blob : scale.internal_blobs()) EXPECT_EQ(blob->count(), 0);
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& net : nets) {
      testing::FillGaussian(net->input_blobs()[0], 0, 1, 80 + pass);
      net->ClearParamDiffs();
      net->Forward();
      Blob* out = net->output_blobs()[0];
      for (int64_t i = 0; i < out->count(); ++i) out->mutable_cpu_diff()[i] = std::cos(0.7f * i);
      net->Backward();
    }
    for (size_t p = 0; p < nets[0]->learnable_params().size(); ++p) {
      EXPECT_TRUE(BitIdentical(*nets[0]->learnable_params()[p], *nets[1]->learnable_params()[p],
                               true, "parameter " + std::to_string(p)));
    }
    EXPECT_TRUE(BitIdentical(*nets[0]->input_blobs()[0], *nets[1]->input_blobs()[0], true,
                             "input gradient"));
  }
  // ReLU rewrites the values between the two: the Scale keeps its own copy.
  std::unique_ptr<Net> with_relu = build(net_text("conv", true));
  EXPECT_TRUE(with_relu->borrowed_snapshots().empty());
  EXPECT_GT(with_relu->layer_by_name("scale")->internal_blobs()[0]->count(), 0);
}

TEST(MemoryPlanTest, RecomputationRunsCheapLayersAgainInBackward) {
  caffe::NetParameter param;
  ReadProtoFromTextString(kChain, "chain", &param);
  param.set_force_backward(true);
  param.set_plan_memory(true);
  param.set_recompute_cheap_layers(true);
  SetRandomSeed(3);
  Net net(param);
  const BlobMemoryPlan* plan = net.memory_plan();
  ASSERT_NE(plan, nullptr);
  // pool1's output is read again only by conv2's backward; sig's only by
  // conv3's and its own, and its input is kept for its backward anyway.
  ASSERT_EQ(plan->recomputations.size(), 2u);
  EXPECT_EQ(net.layer_names()[plan->recomputations[0].layer], "pool1");
  EXPECT_EQ(net.layer_names()[plan->recomputations[0].before_backward_of], "conv2");
  EXPECT_EQ(net.layer_names()[plan->recomputations[1].layer], "sig");
  EXPECT_EQ(net.layer_names()[plan->recomputations[1].before_backward_of], "conv3");
  for (const Recomputation& again : plan->recomputations) {
    EXPECT_FALSE(again.from_snapshot);
    EXPECT_TRUE(again.then_in_place.empty());
  }
  int forward_runs = 0;
  const int pool = plan->recomputations[0].layer;
  net.add_layer_hook(Net::LayerHook::kBeforeForward, [&](int id) { forward_runs += id == pool; });
  net.set_recompute_cheap_layers(false);
  EXPECT_TRUE(net.memory_plan()->recomputations.empty());
  net.set_recompute_cheap_layers(true);
  EXPECT_EQ(net.memory_plan()->recomputations.size(), 2u);
  testing::FillGaussian(net.input_blobs()[0], 0, 1, 4);
  net.Forward();
  net.Backward();
  EXPECT_EQ(forward_runs, 1);  // hooks see passes, not the recomputation
}

// A convolution's output after an in-place BatchNorm, Scale and ReLU is
// not kept for the next convolution's backward: the Scale computes it again
// from the copy of its input it keeps (its own with frozen statistics,
// BatchNorm's with batch statistics), and the ReLU runs again in place.
TEST(MemoryPlanTest, InPlaceChainIsRecomputedFromTheScalesSnapshot) {
  for (const bool frozen : {false, true}) {
    const std::string text = std::string(R"(
name: "snapshot_chain"
force_backward: true
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 7 dim: 7 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1"
        batch_norm_param { use_global_stats: )") + (frozen ? "true" : "false") + R"( } }
layer { name: "scale1" type: "Scale" bottom: "conv1" top: "conv1"
        scale_param { bias_term: true filler { type: "gaussian" std: 1 } bias_filler { type: "gaussian" std: 1 } } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "conv2" type: "Convolution" bottom: "conv1" top: "conv2"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "conv2" top: "ip"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.2 } } }
)";
    std::unique_ptr<Net> nets[2];
    BuildPlannedPair(text, 11, /*recompute=*/true, nets);
    if (frozen) {
      // Statistics as a trained net has them (the sums, and their weight).
      for (auto& net : nets) {
        Layer& bn = *net->layer_by_name("bn1");
        testing::FillGaussian(bn.blobs()[0].get(), 0, 1, 12);
        testing::FillUniform(bn.blobs()[1].get(), 0.5f, 2.f, 13);
        bn.blobs()[2]->mutable_cpu_data()[0] = 1.f;
      }
    }
    const std::string tag = frozen ? "frozen statistics: " : "batch statistics: ";
    const BlobMemoryPlan* plan = nets[1]->memory_plan();
    ASSERT_EQ(plan->recomputations.size(), 1u) << tag;
    const Recomputation& again = plan->recomputations[0];
    EXPECT_TRUE(again.from_snapshot) << tag;
    EXPECT_EQ(nets[1]->layer_names()[again.layer], "scale1") << tag;
    ASSERT_EQ(again.then_in_place.size(), 1u) << tag;
    EXPECT_EQ(nets[1]->layer_names()[again.then_in_place[0]], "relu1") << tag;
    EXPECT_EQ(nets[1]->layer_names()[again.before_backward_of], "conv2") << tag;
    EXPECT_EQ(again.forward_storages.size(), 1u) << tag;  // the snapshot stays put
    ExpectTwoStepsMatch(nets, 100, [](int64_t i) { return std::cos(0.9f * i); }, tag);
  }
}

// A recomputed MAX pooling's argmax (an internal blob) is not kept from
// forward to backward either: it is written again with the output.
TEST(MemoryPlanTest, RecomputedLayersInternalBlobsLiveTwice) {
  constexpr char kNet[] = R"(
name: "picks"
force_backward: true
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 9 dim: 9 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "conv2" top: "ip"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.2 } } }
)";
  std::unique_ptr<Net> nets[2];
  BuildPlannedPair(kNet, 9, /*recompute=*/true, nets);
  const BlobMemoryPlan* plan = nets[1]->memory_plan();
  ASSERT_EQ(plan->recomputations.size(), 1u);
  const Recomputation& again = plan->recomputations[0];
  EXPECT_EQ(nets[1]->layer_names()[again.layer], "pool1");
  // The output and the argmax, each with a forward and a backward life.
  ASSERT_EQ(again.forward_storages.size(), 2u);
  ASSERT_EQ(again.backward_storages.size(), 2u);
  const int picks_forward = again.forward_storages[1], picks_backward = again.backward_storages[1];
  EXPECT_EQ(plan->storages[picks_forward].layer, again.layer);
  EXPECT_TRUE(plan->storages[picks_backward].recomputed);
  EXPECT_EQ(plan->buffers[picks_forward].last_use, again.layer);
  EXPECT_GT(plan->buffers[picks_backward].first_use,
            static_cast<int>(nets[1]->layers().size()));  // in backward
  ExpectTwoStepsMatch(nets, 90, [](int64_t i) { return std::sin(1.3f * i); }, "");
  // Layer by layer, as `cortado time` runs it: backward recomputes too.
  for (auto& net : nets) {
    net->ClearParamDiffs();
    const int n = static_cast<int>(net->layers().size());
    for (int i = 0; i < n; ++i) net->ForwardLayer(i);
    Blob* out = net->output_blobs()[0];
    for (int64_t i = 0; i < out->count(); ++i) out->mutable_cpu_diff()[i] = std::cos(0.4f * i);
    for (int i = n - 1; i >= 0; --i) net->BackwardFromTo(i, i);
  }
  for (size_t p = 0; p < nets[0]->learnable_params().size(); ++p) {
    EXPECT_TRUE(BitIdentical(*nets[0]->learnable_params()[p], *nets[1]->learnable_params()[p],
                             true, "layer by layer, parameter " + std::to_string(p)));
  }
}

// The arena's device side: on a GPU, planned and unplanned forward and
// backward agree bit for bit, also after the planned storage was poisoned.
TEST(MemoryPlanTest, GpuPlannedMatchesGpuUnplanned) {
  if (CudaDeviceCount() == 0) {
    GTEST_SKIP() << "skipped: no GPU (" << CudaUnavailableReason() << ")";
  }
  std::unique_ptr<Net> nets[2];
  for (int planned = 0; planned < 2; ++planned) {
    caffe::NetParameter param;
    ReadProtoFromTextString(kChain, "chain", &param);
    param.set_force_backward(true);
    param.set_plan_memory(planned == 1);
    SetRandomSeed(3);
    nets[planned] = std::make_unique<Net>(param);
    nets[planned]->SetDevice(Device::Cuda(0));
  }
  ASSERT_TRUE(nets[1]->memory_plan()->training);
  ExpectTwoStepsMatch(nets, 60, [](int64_t i) { return std::cos(0.1f * i); }, "GPU ");
}

// The issue's targets, as properties of the plan (bytes, not timings).
TEST(MemoryPlanTest, ResNet50AndGoogLeNetMeetTheMemoryTargets) {
  CORTADO_SKIP_WITHOUT_CONFORMANCE();
  struct Case {
    std::string path;
    int batch;
    double inference_ratio, training_ratio;
  };
  for (const Case& c : {Case{"bench/resnet50_deploy.prototxt", 1, 0.5, 0.6},
                        Case{"bvlc/models/bvlc_googlenet/deploy.prototxt", 10, 0.5, 0.6}}) {
    caffe::NetParameter param;
    ReadNetParamsFromTextFile(testing::ConformancePath(c.path), &param);
    param.mutable_state()->set_phase(caffe::TEST);
    SetBatchSize(c.batch, &param);
    Net inference(param);
    const BlobMemoryPlan inference_plan = PlanBlobMemory(inference, {});
    EXPECT_FALSE(inference_plan.training);
    EXPECT_LE(inference_plan.planned_bytes(),
              c.inference_ratio * inference_plan.unplanned_bytes) << c.path;
    param.set_force_backward(true);
    Net training(param);
    const BlobMemoryPlan training_plan = PlanBlobMemory(training, {});
    EXPECT_TRUE(training_plan.training);
    EXPECT_LE(training_plan.planned_bytes(), c.training_ratio * training_plan.unplanned_bytes)
        << c.path;
    std::printf("[memory-plan] %s b%d: inference %.3f, training %.3f of unplanned\n",
                c.path.c_str(), c.batch,
                double(inference_plan.planned_bytes()) / inference_plan.unplanned_bytes,
                double(training_plan.planned_bytes()) / training_plan.unplanned_bytes);
  }
}

}  // namespace
}  // namespace cortado
