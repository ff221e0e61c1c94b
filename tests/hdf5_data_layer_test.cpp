// HDF5Data and HDF5Output: batches across files, shuffling, round trips and
// the errors a bad source or file raises.
#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/hdf5.hpp"
#include "layer_case.hpp"
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
