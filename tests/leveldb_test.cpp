// The LevelDB backend: the same Database contract as LMDB, and a Data layer
// reading a LevelDB of Datums.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cortado/common.hpp"
#include "cortado/db.hpp"
#include "layer_case.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using testing::TempDir;

std::string Key(int i) {
  char key[16];
  std::snprintf(key, sizeof(key), "%08d", i);
  return key;
}

TEST(LevelDbTest, WriteThenReadBackInKeyOrder) {
  TempDir dir;
  const std::string path = dir.File("db");
  {
    auto db = OpenDatabase(caffe::DataParameter::LEVELDB, path, Database::Mode::kNew);
    auto txn = db->NewTransaction();
    for (int i = 6; i >= 0; --i) {  // reverse: the cursor must sort by key
      txn->Put(Key(i), "value-" + std::to_string(i));
      if (i % 3 == 0) txn->Commit();
    }
    txn->Commit();
  }
  auto db = OpenDatabase(caffe::DataParameter::LEVELDB, path, Database::Mode::kRead);
  EXPECT_EQ(db->size(), 7);
  auto cursor = db->NewCursor();
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(cursor->valid()) << i;
    EXPECT_EQ(cursor->key(), Key(i));
    EXPECT_EQ(cursor->value(), "value-" + std::to_string(i));
    cursor->Next();
  }
  EXPECT_FALSE(cursor->valid());
  cursor->SeekToFirst();
  ASSERT_TRUE(cursor->valid());
  EXPECT_EQ(cursor->key(), Key(0));
}

TEST(LevelDbTest, UncommittedPutsAreNotWritten) {
  TempDir dir;
  const std::string path = dir.File("db");
  {
    auto db = OpenDatabase(caffe::DataParameter::LEVELDB, path, Database::Mode::kNew);
    auto txn = db->NewTransaction();
    txn->Put("a", "1");
    txn->Commit();
    txn->Put("b", "2");  // dropped with the transaction
  }
  auto db = OpenDatabase(caffe::DataParameter::LEVELDB, path, Database::Mode::kRead);
  EXPECT_EQ(db->size(), 1);
}

TEST(LevelDbTest, ErrorsNameThePath) {
  TempDir dir;
  const std::string missing = dir.File("missing");
  try {
    OpenDatabase(caffe::DataParameter::LEVELDB, missing, Database::Mode::kRead);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  const std::string path = dir.File("db");
  OpenDatabase(caffe::DataParameter::LEVELDB, path, Database::Mode::kNew);
  EXPECT_THROW(OpenDatabase(caffe::DataParameter::LEVELDB, path, Database::Mode::kNew), Error);
}

TEST(LevelDbTest, DataLayerReadsALevelDb) {
  TempDir dir;
  const std::string path = dir.File("db");
  {
    auto db = OpenDatabase(caffe::DataParameter::LEVELDB, path, Database::Mode::kNew);
    auto txn = db->NewTransaction();
    for (int i = 0; i < 3; ++i) {
      caffe::Datum datum;
      datum.set_channels(1);
      datum.set_height(2);
      datum.set_width(2);
      datum.set_data(std::string(4, static_cast<char>(10 * i)));
      datum.set_label(i);
      txn->Put(Key(i), datum.SerializeAsString());
    }
    txn->Commit();
  }
  auto layer = testing::MakeLayer("name: 'data' type: 'Data' data_param { source: '" + path +
                                  "' batch_size: 2 backend: LEVELDB }");
  Blob data, label;
  BlobVec top = {&data, &label};
  layer->SetUp({}, top);
  EXPECT_EQ(data.shape(), (std::vector<int>{2, 1, 2, 2}));
  // Two batches of two walk records 0, 1, 2, 0.
  const std::vector<float> expected_labels = {0, 1, 2, 0};
  for (int batch = 0; batch < 2; ++batch) {
    layer->Forward({}, top);
    for (int i = 0; i < 2; ++i) {
      const float want = expected_labels[batch * 2 + i];
      EXPECT_EQ(label.cpu_data()[i], want);
      EXPECT_EQ(data.cpu_data()[i * 4], 10 * want);
    }
  }
}

}  // namespace
}  // namespace cortado
