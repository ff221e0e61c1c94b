// Tests for the Data layer: batches from an LMDB, wrap-around, resume, errors.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/text_format.h>

#include "cortado/db.hpp"
#include "cortado/layer_registry.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using testing::TempDir;

constexpr int kRecords = 10;

std::string Key(int i) {
  char key[16];
  std::snprintf(key, sizeof(key), "%08d", i);
  return key;
}

// Record i is a 1x2x2 image with pixels 10i, 10i+1, 10i+2, 10i+3 and label i.
caffe::Datum RecordDatum(int i) {
  caffe::Datum datum;
  datum.set_channels(1);
  datum.set_height(2);
  datum.set_width(2);
  std::string bytes;
  for (int j = 0; j < 4; ++j) bytes.push_back(static_cast<char>(10 * i + j));
  datum.set_data(bytes);
  datum.set_label(i);
  return datum;
}

// Writes kRecords records; `replace` overrides the value stored for one key.
void WriteDb(const std::string& path, int replace_index = -1,
             const std::string& replacement = "") {
  auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kNew);
  auto txn = db->NewTransaction();
  for (int i = 0; i < kRecords; ++i) {
    std::string value;
    RecordDatum(i).SerializeToString(&value);
    txn->Put(Key(i), i == replace_index ? replacement : value);
  }
  txn->Commit();
}

struct DataLayerHarness {
  std::unique_ptr<Layer> layer;
  Blob data;
  Blob label;
  BlobVec top;

  DataLayerHarness(const std::string& source, int tops, const std::string& extra = "",
                   int batch_size = 4) {
    caffe::LayerParameter param;
    std::string text = "name: 'data' type: 'Data' top: 'data' " +
                       std::string(tops > 1 ? "top: 'label' " : "") +
                       "data_param { source: '" + source + "' batch_size: " +
                       std::to_string(batch_size) + " backend: LMDB } " + extra;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &param)) << text;
    param.set_phase(caffe::TRAIN);
    layer = LayerRegistry::Create(param);
    top.push_back(&data);
    if (tops > 1) top.push_back(&label);
    layer->SetUp({}, top);
  }

  std::vector<float> Labels() {
    layer->Forward({}, top);
    return std::vector<float>(label.cpu_data(), label.cpu_data() + label.count());
  }
};

TEST(DataLayerTest, BatchesWrapAroundInKeyOrder) {
  TempDir dir;
  const std::string source = dir.File("db");
  WriteDb(source);
  DataLayerHarness h(source, 2);
  EXPECT_TRUE(h.layer->IsDataSource());
  EXPECT_EQ(h.data.shape(), (std::vector<int>{4, 1, 2, 2}));
  EXPECT_EQ(h.label.shape(), (std::vector<int>{4}));

  EXPECT_EQ(h.Labels(), (std::vector<float>{0, 1, 2, 3}));
  for (int n = 0; n < 4; ++n)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(h.data.cpu_data()[n * 4 + j], 10 * n + j);
  EXPECT_EQ(h.Labels(), (std::vector<float>{4, 5, 6, 7}));
  EXPECT_EQ(h.Labels(), (std::vector<float>{8, 9, 0, 1}));
  EXPECT_EQ(h.data.cpu_data()[4], 90);   // record 9
  EXPECT_EQ(h.data.cpu_data()[8], 0);    // record 0 after wrapping
  EXPECT_EQ(h.layer->records_consumed(), 12);
}

TEST(DataLayerTest, SeekToRecordRepositionsAndCountsFromThere) {
  TempDir dir;
  const std::string source = dir.File("db");
  WriteDb(source);
  DataLayerHarness h(source, 2);
  h.Labels();
  h.layer->SeekToRecord(5);
  EXPECT_EQ(h.layer->records_consumed(), 5);
  EXPECT_EQ(h.Labels(), (std::vector<float>{5, 6, 7, 8}));
  EXPECT_EQ(h.layer->records_consumed(), 9);
  h.layer->SeekToRecord(23);  // 23 mod 10 = 3
  EXPECT_EQ(h.Labels(), (std::vector<float>{3, 4, 5, 6}));
  EXPECT_EQ(h.layer->records_consumed(), 27);
}

TEST(DataLayerTest, ResumedLayerMatchesUninterruptedOne) {
  TempDir dir;
  const std::string source = dir.File("db");
  WriteDb(source);
  DataLayerHarness straight(source, 2, "", 3);
  for (int i = 0; i < 5; ++i) straight.Labels();
  DataLayerHarness resumed(source, 2, "", 3);
  resumed.layer->SeekToRecord(15);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(straight.Labels(), resumed.Labels()) << "batch " << i;
    EXPECT_EQ(straight.layer->records_consumed(), resumed.layer->records_consumed());
  }
}

TEST(DataLayerTest, DataOnlyTopWithTransform) {
  TempDir dir;
  const std::string source = dir.File("db");
  WriteDb(source);
  DataLayerHarness h(source, 1, "transform_param { scale: 0.5 mean_value: 2 }", 2);
  EXPECT_EQ(h.top.size(), 1u);
  h.layer->Forward({}, h.top);
  h.layer->Forward({}, h.top);  // records 2 and 3
  std::vector<float> out(h.data.cpu_data(), h.data.cpu_data() + h.data.count());
  std::vector<float> expected;
  for (int r = 2; r < 4; ++r)
    for (int j = 0; j < 4; ++j) expected.push_back((10 * r + j - 2) * 0.5f);
  EXPECT_EQ(out, expected);
}

TEST(DataLayerTest, CorruptRecordErrorNamesSourceAndKey) {
  TempDir dir;
  const std::string source = dir.File("db");
  WriteDb(source, 5, std::string("\xff\xff\xff\xff garbage", 12));
  DataLayerHarness h(source, 2);
  h.Labels();  // records 0-3 are fine
  for (int attempt = 0; attempt < 2; ++attempt) {  // the failure is sticky
    try {
      h.Labels();
      FAIL() << "expected an Error";
    } catch (const Error& e) {
      std::string message = e.what();
      EXPECT_NE(message.find(Key(5)), std::string::npos) << message;
      EXPECT_NE(message.find(source), std::string::npos) << message;
    }
  }
}

TEST(DataLayerTest, InconsistentShapeErrorNamesKey) {
  TempDir dir;
  const std::string source = dir.File("db");
  caffe::Datum odd = RecordDatum(7);
  odd.set_width(1);
  odd.set_height(4);
  std::string value;
  odd.SerializeToString(&value);
  WriteDb(source, 7, value);
  DataLayerHarness h(source, 2);
  h.Labels();
  try {
    h.Labels();
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(Key(7)), std::string::npos) << e.what();
  }
}

TEST(DataLayerTest, MissingSourceIsAnErrorAtSetUp) {
  TempDir dir;
  const std::string source = dir.File("missing_db");
  try {
    DataLayerHarness h(source, 2);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(source), std::string::npos) << e.what();
  }
}

TEST(DataLayerTest, DestroyWhilePrefetchingDoesNotHang) {
  // The directory outlives a hung worker: it is not removed on failure.
  auto dir = std::make_shared<TempDir>();
  const std::string source = dir->File("db");
  WriteDb(source);
  // Layers are made and destroyed (their prefetch threads running) on a
  // worker, so a hang fails this test after a deadline instead of stalling
  // the suite.
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  std::thread worker([source, done, dir] {
    for (int i = 0; i < 20; ++i) {
      const int batch = 1 + i % 4;
      DataLayerHarness h(source, 2, "", batch);
      if (i % 2) {
        std::vector<float> expected(batch);
        std::iota(expected.begin(), expected.end(), 0.f);
        EXPECT_EQ(h.Labels(), expected) << "batch size " << batch;
      }
    }
    done->set_value();
  });
  if (finished.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    worker.detach();
    FAIL() << "destroying Data layers while they prefetch did not finish within 60 s";
  }
  worker.join();
}

}  // namespace
}  // namespace cortado
