// HDF5Data and HDF5Output: batches across files, shuffling, resuming from a
// record or a solverstate, round trips and the errors a bad source or file
// raises.
#include <algorithm>
#include <fstream>
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
