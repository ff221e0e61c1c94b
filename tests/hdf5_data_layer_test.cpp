// HDF5Data and HDF5Output: batches across files, shuffling, resuming from a
// record or a solverstate, data-parallel shards, round trips and the errors a
// bad source or file raises.
#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/hdf5.hpp"
#include "cortado/rng.hpp"
#include "cortado/solver.hpp"
#include "layer_case.hpp"
#include "solver_fixtures.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace testing {
namespace {

// Writes rows records: data[r] = {100r, 100r+1, ...} (record shape 2x2) and
// label[r] = first + r.
void WriteRecords(const std::string& path, int rows, int first) {
  Blob data({rows, 2, 2}), label({rows});
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < 4; ++j) data.mutable_cpu_data()[r * 4 + j] = float((first + r) * 100 + j);
    label.mutable_cpu_data()[r] = float(first + r);
  }
  WriteHdf5Datasets({{"data", &data}, {"label", &label}}, path);
}

std::string WriteList(const TempDir& dir, const std::vector<std::string>& files) {
  const std::string list = dir.File("list.txt");
  std::ofstream out(list);
  for (const auto& f : files) out << f << "\n";
  return list;
}

std::unique_ptr<Layer> MakeDataLayer(const std::string& list, int batch, bool shuffle) {
  return MakeLayer("name: 'h5' type: 'HDF5Data' top: 'data' top: 'label' hdf5_data_param { "
                   "source: '" + list + "' batch_size: " + std::to_string(batch) +
                   (shuffle ? " shuffle: true" : "") + " }");
}

TEST(Hdf5DataLayerTest, BatchesWalkThroughFilesAndWrap) {
  TempDir dir;
  WriteRecords(dir.File("a.h5"), 3, 0);
  WriteRecords(dir.File("b.h5"), 2, 3);
  auto layer = MakeDataLayer(WriteList(dir, {dir.File("a.h5"), "  " + dir.File("b.h5")}), 4,
                             false);
  Blob data, label;
  layer->SetUp({}, {&data, &label});
  EXPECT_EQ((std::vector<int>{4, 2, 2}), data.shape());
  EXPECT_EQ(std::vector<int>{4}, label.shape());
  std::vector<float> labels;
  for (int i = 0; i < 3; ++i) {
    layer->Forward({}, {&data, &label});
    for (int b = 0; b < 4; ++b) {
      labels.push_back(label.cpu_data()[b]);
      EXPECT_EQ(label.cpu_data()[b] * 100 + 3, data.cpu_data()[b * 4 + 3]);
    }
  }
  EXPECT_EQ((std::vector<float>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1}), labels);
}

TEST(Hdf5DataLayerTest, ShuffleVisitsEveryRecordOncePerEpoch) {
  TempDir dir;
  WriteRecords(dir.File("a.h5"), 6, 0);
  WriteRecords(dir.File("b.h5"), 6, 6);
  auto layer = MakeDataLayer(WriteList(dir, {dir.File("a.h5"), dir.File("b.h5")}), 4, true);
  Blob data, label;
  layer->SetUp({}, {&data, &label});
  std::vector<float> labels;
  for (int i = 0; i < 3; ++i) {
    layer->Forward({}, {&data, &label});
    labels.insert(labels.end(), label.cpu_data(), label.cpu_data() + 4);
  }
  std::vector<float> sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(float(i), sorted[i]);
  std::vector<float> in_order(12);
  for (int i = 0; i < 12; ++i) in_order[i] = float(i);
  EXPECT_NE(in_order, labels);  // 12! orders; the chance of the identity is negligible
}

// The labels of `batches` batches of 4 from a layer that, set up under
// global seed 7, first seeks to `start` (when start >= 0).
std::vector<float> LabelsFrom(const std::string& list, int64_t start, int batches) {
  SetRandomSeed(7);
  auto layer = MakeDataLayer(list, 4, true);
  Blob data, label;
  layer->SetUp({}, {&data, &label});
  if (start >= 0) layer->SeekToRecord(start);
  std::vector<float> labels;
  for (int i = 0; i < batches; ++i) {
    layer->Forward({}, {&data, &label});
    for (int b = 0; b < 4; ++b) EXPECT_EQ(label.cpu_data()[b] * 100 + 2, data.cpu_data()[b * 4 + 2]);
    labels.insert(labels.end(), label.cpu_data(), label.cpu_data() + 4);
  }
  EXPECT_EQ(layer->records_consumed(), std::max<int64_t>(start, 0) + 4 * batches);
  return labels;
}

TEST(Hdf5DataLayerTest, SeekToRecordContinuesTheShuffledOrder) {
  TempDir dir;
  WriteRecords(dir.File("a.h5"), 5, 0);
  WriteRecords(dir.File("b.h5"), 3, 5);
  WriteRecords(dir.File("c.h5"), 4, 8);
  const std::string list = WriteList(dir, {dir.File("a.h5"), dir.File("b.h5"), dir.File("c.h5")});
  // 12 records an epoch: 10 batches of 4 span three full epochs and more.
  const std::vector<float> straight = LabelsFrom(list, -1, 10);
  EXPECT_EQ(LabelsFrom(list, -1, 10), straight);  // the same seed gives the same order
  std::vector<float> first_epoch(straight.begin(), straight.begin() + 12);
  std::vector<float> second_epoch(straight.begin() + 12, straight.begin() + 24);
  EXPECT_NE(first_epoch, second_epoch);  // every epoch is shuffled afresh
  std::sort(second_epoch.begin(), second_epoch.end());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(float(i), second_epoch[i]);
  // Seeks inside a file, at a file boundary, at an epoch boundary and into
  // a later epoch all continue exactly where the straight run was.
  for (int start : {4, 8, 12, 20, 28}) {
    const std::vector<float> resumed = LabelsFrom(list, start, 3);
    EXPECT_EQ(resumed, std::vector<float>(straight.begin() + start, straight.begin() + start + 12))
        << "from record " << start;
  }
}

TEST(Hdf5DataLayerTest, SolverResumesAtTheSnapshotsRecord) {
  TempDir dir;
  WriteRecords(dir.File("a.h5"), 5, 0);
  WriteRecords(dir.File("b.h5"), 4, 5);
  const std::string list = WriteList(dir, {dir.File("a.h5"), dir.File("b.h5")});
  auto make = [&](const std::string& prefix) {
    caffe::SolverParameter param;
    ReadProtoFromTextString("base_lr: 0.05 momentum: 0.9 lr_policy: 'fixed' max_iter: 20 "
                            "random_seed: 13 snapshot_after_train: false",
                            "solver", &param);
    param.set_snapshot_prefix(prefix);
    ReadProtoFromTextString(R"(
      layer { name: "h5" type: "HDF5Data" top: "data" top: "label"
              hdf5_data_param { source: ")" + list + R"(" batch_size: 4 shuffle: true } }
      layer { name: "scale" type: "Power" bottom: "data" top: "scaled"
              power_param { scale: 0.001 } }
      layer { name: "ip" type: "InnerProduct" bottom: "scaled" top: "ip"
              inner_product_param { num_output: 9 weight_filler { type: "xavier" } } }
      layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
    )", "net", param.mutable_net_param());
    return CreateSolver(param);
  };
  // Labels of each iteration's batch, one step at a time.
  auto run = [](Solver* solver, int steps) {
    std::vector<std::vector<float>> batches;
    for (int i = 0; i < steps; ++i) {
      solver->Step(1);
      const Blob* label = solver->net()->blob_by_name("label");
      batches.emplace_back(label->cpu_data(), label->cpu_data() + label->count());
    }
    return batches;
  };
  auto straight = make(dir.File("straight"));
  const auto straight_batches = run(straight.get(), 10);
  {
    auto first = make(dir.File("run"));
    const auto first_batches = run(first.get(), 4);
    EXPECT_EQ(first_batches, decltype(first_batches)(straight_batches.begin(),
                                                     straight_batches.begin() + 4));
    first->Snapshot();
  }
  auto resumed = make(dir.File("run"));
  resumed->Restore(dir.File("run_iter_4.solverstate"));
  const auto resumed_batches = run(resumed.get(), 6);
  EXPECT_EQ(resumed_batches, decltype(resumed_batches)(straight_batches.begin() + 4,
                                                       straight_batches.end()));
  const std::vector<float> expected = AllWeights(straight->net());
  const std::vector<float> actual = AllWeights(resumed->net());
  ASSERT_EQ(actual.size(), expected.size());
  EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)), 0);
}

// One HDF5Data layer over a shuffled list; every reader is built under one
// random seed, as the replicas of a data-parallel run are.
class Hdf5Reader {
 public:
  Hdf5Reader(const std::string& list, int batch_size) {
    SetRandomSeed(21);
    layer_ = MakeDataLayer(list, batch_size, true);
    layer_->SetUp({}, top_);
  }
  // Labels, then data, of the next batch.
  std::vector<float> Forward() {
    layer_->Forward({}, top_);
    std::vector<float> out(label_.cpu_data(), label_.cpu_data() + label_.count());
    out.insert(out.end(), data_.cpu_data(), data_.cpu_data() + data_.count());
    return out;
  }
  Layer* layer() { return layer_.get(); }

 private:
  Blob data_, label_;
  BlobVec top_ = {&data_, &label_};
  std::unique_ptr<Layer> layer_;
};

// `count` replicas, each positioned at global record `seek` (when >= 0)
// before or after being told its share.
std::vector<std::unique_ptr<Hdf5Reader>> Hdf5Replicas(const std::string& list, int count,
                                                      int batch_size, int64_t seek = -1,
                                                      bool seek_first = true) {
  std::vector<std::unique_ptr<Hdf5Reader>> replicas;
  for (int index = 0; index < count; ++index) {
    auto reader = std::make_unique<Hdf5Reader>(list, batch_size);
    if (seek >= 0 && seek_first) reader->layer()->SeekToRecord(seek);
    reader->layer()->SetDataShard(index, count);
    if (seek >= 0 && !seek_first) reader->layer()->SeekToRecord(seek);
    replicas.push_back(std::move(reader));
  }
  return replicas;
}

// One iteration of every replica as an unsharded layer of count x batch
// would lay it out: all labels by replica index, then all data.
std::vector<float> Hdf5GlobalForward(const std::vector<std::unique_ptr<Hdf5Reader>>& replicas,
                                     int batch_size) {
  std::vector<float> labels, data;
  for (const auto& replica : replicas) {
    const std::vector<float> share = replica->Forward();
    labels.insert(labels.end(), share.begin(), share.begin() + batch_size);
    data.insert(data.end(), share.begin() + batch_size, share.end());
  }
  labels.insert(labels.end(), data.begin(), data.end());
  return labels;
}

// 13 shuffled records in three files: global batches of 4 and 6 end epochs
// inside a batch, and inside a file.
std::string WriteShardFiles(const TempDir& dir) {
  WriteRecords(dir.File("a.h5"), 5, 0);
  WriteRecords(dir.File("b.h5"), 3, 5);
  WriteRecords(dir.File("c.h5"), 5, 8);
  return WriteList(dir, {dir.File("a.h5"), dir.File("b.h5"), dir.File("c.h5")});
}

TEST(Hdf5DataLayerTest, ReplicasTogetherReadWhatOneUnshardedLayerReads) {
  TempDir dir;
  const std::string list = WriteShardFiles(dir);
  constexpr int kBatch = 2;
  for (int count : {2, 3}) {
    SCOPED_TRACE("count " + std::to_string(count));
    auto replicas = Hdf5Replicas(list, count, kBatch);
    Hdf5Reader whole(list, count * kBatch);
    std::vector<float> first_epoch;
    // Eight global batches of 4 or 6 span two or three shuffled epochs.
    for (int t = 0; t < 8; ++t) {
      const std::vector<float> actual = Hdf5GlobalForward(replicas, kBatch);
      EXPECT_EQ(actual, whole.Forward()) << "iteration " << t;
      for (const auto& replica : replicas) {
        EXPECT_EQ(replica->layer()->records_consumed(), (t + 1) * count * kBatch);
      }
      first_epoch.insert(first_epoch.end(), actual.begin(), actual.begin() + count * kBatch);
    }
    // No record twice in an epoch, and the shuffle is not the file order.
    first_epoch.resize(13);
    std::vector<float> sorted = first_epoch;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 13; ++i) EXPECT_EQ(sorted[i], float(i));
    EXPECT_FALSE(std::is_sorted(first_epoch.begin(), first_epoch.end()));
  }
}

TEST(Hdf5DataLayerTest, ResumedReplicasContinueTheGlobalStream) {
  TempDir dir;
  const std::string list = WriteShardFiles(dir);
  constexpr int kBatch = 2;
  auto straight = Hdf5Replicas(list, 2, kBatch);
  std::vector<std::vector<float>> straight_batches;
  for (int t = 0; t < 9; ++t) straight_batches.push_back(Hdf5GlobalForward(straight, kBatch));
  const int64_t snapshot = 4 * 2 * kBatch;  // after four iterations: in epoch 1
  for (bool seek_first : {true, false}) {
    auto resumed = Hdf5Replicas(list, 2, kBatch, snapshot, seek_first);
    for (int t = 4; t < 9; ++t) {
      EXPECT_EQ(Hdf5GlobalForward(resumed, kBatch), straight_batches[t])
          << "iteration " << t << (seek_first ? ", seek first" : ", shard first");
      EXPECT_EQ(resumed[0]->layer()->records_consumed(), (t + 1) * 2 * kBatch);
    }
  }
  // The straight run's global stream of labels after the snapshot.
  std::vector<float> straight_after;
  for (int t = 4; t < 9; ++t) {
    straight_after.insert(straight_after.end(), straight_batches[t].begin(),
                          straight_batches[t].begin() + 2 * kBatch);
  }
  // Three replicas resumed from the two-replica snapshot read on from record
  // 16: the same stream, and what one unsharded layer seeked there reads.
  for (bool seek_first : {true, false}) {
    SCOPED_TRACE(seek_first ? "seek first" : "shard first");
    auto resumed = Hdf5Replicas(list, 3, kBatch, snapshot, seek_first);
    Hdf5Reader whole(list, 3 * kBatch);
    whole.layer()->SeekToRecord(snapshot);
    std::vector<float> resumed_after;
    for (int t = 0; t < 4; ++t) {
      const std::vector<float> actual = Hdf5GlobalForward(resumed, kBatch);
      EXPECT_EQ(actual, whole.Forward()) << "iteration " << t;
      EXPECT_EQ(resumed[2]->layer()->records_consumed(), snapshot + (t + 1) * 3 * kBatch);
      resumed_after.insert(resumed_after.end(), actual.begin(), actual.begin() + 3 * kBatch);
    }
    resumed_after.resize(straight_after.size());
    EXPECT_EQ(resumed_after, straight_after);
  }
}

TEST(Hdf5DataLayerTest, BadSourcesThrow) {
  TempDir dir;
  Blob data, label;
  EXPECT_THROW(MakeDataLayer(dir.File("missing.txt"), 2, false)->SetUp({}, {&data, &label}),
               Error);
  EXPECT_THROW(MakeDataLayer(WriteList(dir, {}), 2, false)->SetUp({}, {&data, &label}), Error);
  EXPECT_THROW(MakeDataLayer(WriteList(dir, {dir.File("nope.h5")}), 2, false)
                   ->SetUp({}, {&data, &label}),
               Error);
  // A dataset named like a top is missing.
  Blob only({3, 2});
  WriteHdf5Datasets({{"data", &only}}, dir.File("nolabel.h5"));
  EXPECT_THROW(MakeDataLayer(WriteList(dir, {dir.File("nolabel.h5")}), 2, false)
                   ->SetUp({}, {&data, &label}),
               Error);
  // Datasets with different record counts.
  Blob short_label({2});
  WriteHdf5Datasets({{"data", &only}, {"label", &short_label}}, dir.File("mismatch.h5"));
  EXPECT_THROW(MakeDataLayer(WriteList(dir, {dir.File("mismatch.h5")}), 2, false)
                   ->SetUp({}, {&data, &label}),
               Error);
}

TEST(Hdf5OutputLayerTest, WritesDataAndLabel) {
  TempDir dir;
  const std::string file = dir.File("out.h5");
  auto layer = MakeLayer("name: 'out' type: 'HDF5Output' bottom: 'd' bottom: 'l' "
                         "hdf5_output_param { file_name: '" + file + "' }");
  Blob data({3, 2, 1}), label({3, 1});
  FillGaussian(&data, 0, 1, 5);
  FillGaussian(&label, 0, 1, 6);
  layer->SetUp({&data, &label}, {});
  layer->Forward({&data, &label}, {});
  caffe::BlobProto read_data, read_label;
  ReadHdf5Dataset(file, "data", &read_data);
  ReadHdf5Dataset(file, "label", &read_label);
  ASSERT_EQ(3, read_data.shape().dim_size());
  EXPECT_EQ(2, read_data.shape().dim(1));
  ExpectBlobNear(std::vector<float>(read_data.data().begin(), read_data.data().end()), data,
                 0);
  ExpectBlobNear(std::vector<float>(read_label.data().begin(), read_label.data().end()), label,
                 0);
}

TEST(Hdf5OutputLayerTest, BadParametersThrow) {
  Blob data({3, 2}), label({2});
  auto no_file = MakeLayer("name: 'out' type: 'HDF5Output' hdf5_output_param { }");
  EXPECT_THROW(no_file->SetUp({&data, &label}, {}), Error);
  auto layer = MakeLayer("name: 'out' type: 'HDF5Output' "
                         "hdf5_output_param { file_name: '/tmp/x.h5' }");
  EXPECT_THROW(layer->SetUp({&data, &label}, {}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
