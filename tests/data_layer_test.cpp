// Tests for the Data layer: batches from an LMDB, wrap-around, resume, errors,
// and data-parallel shards (LMDB and LevelDB).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/text_format.h>

#include "cortado/db.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/rng.hpp"
#include "layer_case.hpp"
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

// --- Data-parallel shards -------------------------------------------------

// 13 records, so that with global batches of 4 or 6 epochs end inside a
// batch, and inside one replica's share.
constexpr int kShardRecords = 13;
constexpr int kShardSeed = 1234;

void WriteShardDb(caffe::DataParameter::DB backend, const std::string& path) {
  auto db = OpenDatabase(backend, path, Database::Mode::kNew);
  auto txn = db->NewTransaction();
  for (int i = 0; i < kShardRecords; ++i) txn->Put(Key(i), RecordDatum(i).SerializeAsString());
  txn->Commit();
}

struct Output {
  std::vector<float> data;
  std::vector<float> labels;
};

// One Data layer. Every reader is built under the same random seed, as the
// replicas of a data-parallel run are (one random_seed for all ranks).
class Reader {
 public:
  Reader(caffe::DataParameter::DB backend, const std::string& source, int batch_size,
         const std::string& data_param_extra = "", const std::string& transform = "") {
    SetRandomSeed(kShardSeed);
    layer_ = testing::MakeLayer(
        "name: 'data' type: 'Data' top: 'data' top: 'label' data_param { source: '" + source +
        "' batch_size: " + std::to_string(batch_size) + " backend: " +
        (backend == caffe::DataParameter::LMDB ? "LMDB " : "LEVELDB ") + data_param_extra +
        " } " + transform);
    layer_->SetUp({}, top_);
  }

  Output Forward() {
    layer_->Forward({}, top_);
    return {std::vector<float>(data_.cpu_data(), data_.cpu_data() + data_.count()),
            std::vector<float>(label_.cpu_data(), label_.cpu_data() + label_.count())};
  }
  Layer* layer() { return layer_.get(); }

 private:
  Blob data_, label_;
  BlobVec top_ = {&data_, &label_};
  std::unique_ptr<Layer> layer_;
};

using ReplicaSet = std::vector<std::unique_ptr<Reader>>;

// One iteration of every replica, concatenated by replica index: what the
// replicas of a data-parallel step read together.
Output GlobalForward(const ReplicaSet& replicas) {
  Output global;
  for (const auto& replica : replicas) {
    Output share = replica->Forward();
    global.data.insert(global.data.end(), share.data.begin(), share.data.end());
    global.labels.insert(global.labels.end(), share.labels.begin(), share.labels.end());
  }
  return global;
}

// Labels of global records first, first + 1, ... (record i has label i and
// the stream wraps at the end of the database).
std::vector<float> StreamLabels(int64_t first, int n) {
  std::vector<float> labels;
  for (int j = 0; j < n; ++j) labels.push_back(static_cast<float>((first + j) % kShardRecords));
  return labels;
}

class DataLayerShardTest : public ::testing::TestWithParam<caffe::DataParameter::DB> {
 protected:
  void SetUp() override { WriteShardDb(GetParam(), dir_.File("db")); }

  // Where the next reader reads. A LevelDB admits one opener at a time, so
  // each LevelDB reader gets its own copy, as ranks on separate hosts have;
  // LMDB readers share the one database.
  std::string Source() {
    if (GetParam() == caffe::DataParameter::LMDB) return dir_.File("db");
    const std::string copy = dir_.File("db" + std::to_string(++copies_));
    std::filesystem::copy(dir_.File("db"), copy, std::filesystem::copy_options::recursive);
    return copy;
  }

  // `count` replicas of batch_size each. With seek >= 0 each is positioned
  // at global record `seek`, before or after being told its share.
  ReplicaSet MakeReplicas(int count, int batch_size, int64_t seek = -1, bool seek_first = true,
                          const std::string& data_param_extra = "") {
    ReplicaSet replicas;
    for (int index = 0; index < count; ++index) {
      auto reader =
          std::make_unique<Reader>(GetParam(), Source(), batch_size, data_param_extra);
      if (seek >= 0 && seek_first) reader->layer()->SeekToRecord(seek);
      reader->layer()->SetDataShard(index, count);
      if (seek >= 0 && !seek_first) reader->layer()->SeekToRecord(seek);
      replicas.push_back(std::move(reader));
    }
    return replicas;
  }

  TempDir dir_;
  int copies_ = 0;
};

TEST_P(DataLayerShardTest, ReplicasTogetherReadWhatOneUnshardedLayerReads) {
  constexpr int kBatch = 2;
  for (int count : {2, 3}) {
    SCOPED_TRACE("count " + std::to_string(count));
    ReplicaSet replicas = MakeReplicas(count, kBatch);
    Reader whole(GetParam(), Source(), count * kBatch);
    // Eight global batches of 4 or 6 cross two or three epochs.
    for (int t = 0; t < 8; ++t) {
      const Output expected = whole.Forward();
      const Output actual = GlobalForward(replicas);
      EXPECT_EQ(actual.labels, expected.labels) << "iteration " << t;
      EXPECT_EQ(actual.data, expected.data) << "iteration " << t;
      EXPECT_EQ(actual.labels, StreamLabels(int64_t{t} * count * kBatch, count * kBatch))
          << "iteration " << t;
      for (const auto& replica : replicas) {
        EXPECT_EQ(replica->layer()->records_consumed(), (t + 1) * count * kBatch);
      }
    }
  }
}

TEST_P(DataLayerShardTest, ReplicasShareTheRandSkipStart) {
  // rand_skip is drawn from the global generator at set-up: replicas built
  // with one seed start the global stream at the same record.
  ReplicaSet replicas = MakeReplicas(3, 2, -1, true, "rand_skip: 12");
  Reader whole(GetParam(), Source(), 6, "rand_skip: 12");
  const Output first = whole.Forward();
  const int64_t start = static_cast<int64_t>(first.labels[0]);
  EXPECT_NE(start, 0) << "with this seed rand_skip should move the start";
  EXPECT_EQ(GlobalForward(replicas).labels, first.labels);
  for (int t = 1; t < 4; ++t) {
    const Output actual = GlobalForward(replicas);
    EXPECT_EQ(actual.labels, whole.Forward().labels) << "iteration " << t;
    EXPECT_EQ(actual.labels, StreamLabels(start + 6 * t, 6)) << "iteration " << t;
  }
}

TEST_P(DataLayerShardTest, SharingOutMidRunStartsAtTheNextGlobalBatch) {
  // A layer that has read 4 records unsharded (its reader has prefetched
  // further) becomes replica 1 of 2: its next share is records 6 and 7.
  Reader reader(GetParam(), Source(), 2);
  reader.Forward();
  reader.Forward();
  reader.layer()->SetDataShard(1, 2);
  EXPECT_EQ(reader.Forward().labels, (std::vector<float>{6, 7}));
  EXPECT_EQ(reader.layer()->records_consumed(), 8);
  EXPECT_EQ(reader.Forward().labels, (std::vector<float>{10, 11}));
  // Back to one replica: it reads on from the global position, 12.
  reader.layer()->SetDataShard(0, 1);
  EXPECT_EQ(reader.Forward().labels, (std::vector<float>{12, 0}));
  EXPECT_EQ(reader.layer()->records_consumed(), 14);
}

TEST_P(DataLayerShardTest, ResumedReplicasContinueTheGlobalStream) {
  constexpr int kBatch = 2;
  // The uninterrupted run: two replicas for nine iterations.
  ReplicaSet straight = MakeReplicas(2, kBatch);
  std::vector<Output> straight_batches;
  for (int t = 0; t < 9; ++t) straight_batches.push_back(GlobalForward(straight));
  // A snapshot after four iterations records 16 global records.
  const int64_t snapshot = 4 * 2 * kBatch;
  for (bool seek_first : {true, false}) {
    SCOPED_TRACE(seek_first ? "SeekToRecord, then SetDataShard"
                            : "SetDataShard, then SeekToRecord");
    ReplicaSet resumed = MakeReplicas(2, kBatch, snapshot, seek_first);
    for (int t = 4; t < 9; ++t) {
      const Output actual = GlobalForward(resumed);
      EXPECT_EQ(actual.labels, straight_batches[t].labels) << "iteration " << t;
      EXPECT_EQ(actual.data, straight_batches[t].data) << "iteration " << t;
      EXPECT_EQ(resumed[1]->layer()->records_consumed(), (t + 1) * 2 * kBatch);
    }
  }
  // Resumed on three replicas, the global stream goes on from record 16.
  for (bool seek_first : {true, false}) {
    ReplicaSet resumed = MakeReplicas(3, kBatch, snapshot, seek_first);
    Reader whole(GetParam(), Source(), 3 * kBatch);
    whole.layer()->SeekToRecord(snapshot);
    for (int t = 0; t < 4; ++t) {
      const Output actual = GlobalForward(resumed);
      EXPECT_EQ(actual.labels, StreamLabels(snapshot + t * 3 * kBatch, 3 * kBatch))
          << "iteration " << t << (seek_first ? ", seek first" : ", shard first");
      EXPECT_EQ(actual.data, whole.Forward().data) << "iteration " << t;
      EXPECT_EQ(resumed[2]->layer()->records_consumed(), snapshot + (t + 1) * 3 * kBatch);
    }
  }
}

TEST_P(DataLayerShardTest, OnlyReplicasAfterTheFirstCropDifferently) {
  // crop_size 1 of a 2x2 record picks one of four pixels at random.
  const std::string transform = "transform_param { crop_size: 1 }";
  Reader plain(GetParam(), Source(), 8, "", transform);
  Reader one_of_one(GetParam(), Source(), 8, "", transform);
  one_of_one.layer()->SetDataShard(0, 1);
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(one_of_one.Forward().data, plain.Forward().data) << "iteration " << t;
  }
  // Replica 0 of 2 crops its first share (records 0..3) as an unsharded
  // reader crops its first four records, whatever its reader thread had
  // prefetched before the share was set.
  for (int attempt = 0; attempt < 3; ++attempt) {
    Reader first(GetParam(), Source(), 4, "", transform);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
    first.layer()->SetDataShard(0, 2);
    Reader whole(GetParam(), Source(), 8, "", transform);
    const Output expected = whole.Forward();
    EXPECT_EQ(first.Forward().data,
              std::vector<float>(expected.data.begin(), expected.data.begin() + 4))
        << "attempt " << attempt;
  }
  // Replica 1 of 2 reads records 8..15 first. Had its transformer kept the
  // shared seed, it would crop them as a fresh unsharded reader seeked to 8
  // does; reseeded, its crops differ (equal for all 8 with chance 4^-8).
  Reader second(GetParam(), Source(), 8, "", transform);
  second.layer()->SetDataShard(1, 2);
  Reader not_reseeded(GetParam(), Source(), 8, "", transform);
  not_reseeded.layer()->SeekToRecord(8);
  const Output reseeded = second.Forward();
  const Output shared_seed = not_reseeded.Forward();
  EXPECT_EQ(reseeded.labels, shared_seed.labels);
  EXPECT_NE(reseeded.data, shared_seed.data);
  // The replica's own stream is reproducible: rebuilt alike, it crops alike.
  Reader again(GetParam(), Source(), 8, "", transform);
  again.layer()->SetDataShard(1, 2);
  EXPECT_EQ(again.Forward().data, reseeded.data);
  // Resumed replicas crop alike whether they seek or take their share first,
  // though their reader threads prefetch (and crop) in between.
  Reader seek_first(GetParam(), Source(), 8, "", transform);
  seek_first.layer()->SeekToRecord(5);
  seek_first.layer()->SetDataShard(1, 2);
  Reader shard_first(GetParam(), Source(), 8, "", transform);
  shard_first.layer()->SetDataShard(1, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  shard_first.layer()->SeekToRecord(5);
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(shard_first.Forward().data, seek_first.Forward().data) << "iteration " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DataLayerShardTest,
                         ::testing::Values(caffe::DataParameter::LMDB,
                                           caffe::DataParameter::LEVELDB),
                         [](const ::testing::TestParamInfo<caffe::DataParameter::DB>& info) {
                           return std::string(info.param == caffe::DataParameter::LMDB
                                                  ? "Lmdb"
                                                  : "LevelDb");
                         });

}  // namespace
}  // namespace cortado
