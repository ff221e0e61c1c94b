// Tests for the LMDB record store: write, read back, cursors, errors.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "cortado/common.hpp"
#include "cortado/db.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using testing::TempDir;

std::string Key(int i) {
  char key[16];
  std::snprintf(key, sizeof(key), "%08d", i);
  return key;
}

void WriteRecords(const std::string& path, int count) {
  auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kNew);
  auto txn = db->NewTransaction();
  // Put in reverse to check the cursor walks in key order, not insert order.
  for (int i = count - 1; i >= 0; --i) {
    txn->Put(Key(i), "value-" + std::to_string(i));
    if (i % 3 == 0) txn->Commit();
  }
  txn->Commit();
}

TEST(DbTest, WriteThenReadBackInKeyOrder) {
  TempDir dir;
  const std::string path = dir.File("db");
  WriteRecords(path, 7);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "db" / "data.mdb"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "db" / "lock.mdb"));

  auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kRead);
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

TEST(DbTest, UncommittedPutsAreNotWritten) {
  TempDir dir;
  const std::string path = dir.File("db");
  {
    auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kNew);
    auto txn = db->NewTransaction();
    txn->Put("a", "1");
    txn->Commit();
    txn->Put("b", "2");  // dropped with the transaction
  }
  auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kRead);
  EXPECT_EQ(db->size(), 1);
}

TEST(DbTest, WriteModeAppendsToExistingDatabase) {
  TempDir dir;
  const std::string path = dir.File("db");
  WriteRecords(path, 2);
  {
    auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kWrite);
    auto txn = db->NewTransaction();
    txn->Put(Key(5), "five");
    txn->Commit();
  }
  auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kRead);
  EXPECT_EQ(db->size(), 3);
}

TEST(DbTest, CursorWorksOnAnotherThread) {
  TempDir dir;
  const std::string path = dir.File("db");
  WriteRecords(path, 5);
  auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kRead);
  auto cursor = db->NewCursor();  // created here, stepped on the worker
  std::vector<std::string> keys;
  std::thread worker([&] {
    for (cursor->SeekToFirst(); cursor->valid(); cursor->Next()) {
      keys.push_back(cursor->key());
    }
  });
  worker.join();
  ASSERT_EQ(keys.size(), 5u);
  EXPECT_EQ(keys.front(), Key(0));
  EXPECT_EQ(keys.back(), Key(4));
  // A second cursor on this thread is independent of the first.
  auto other = db->NewCursor();
  ASSERT_TRUE(other->valid());
  EXPECT_EQ(other->key(), Key(0));
}

TEST(DbTest, MissingPathErrorNamesThePath) {
  TempDir dir;
  const std::string path = dir.File("no_such_db");
  try {
    OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kRead);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(DbTest, NewModeRefusesAnExistingDatabase) {
  TempDir dir;
  const std::string path = dir.File("db");
  WriteRecords(path, 1);
  try {
    OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kNew);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(DbTest, FileInsteadOfDirectoryIsAnError) {
  TempDir dir;
  const std::string path = dir.File("plain_file");
  { std::FILE* f = std::fopen(path.c_str(), "w"); std::fputs("x", f); std::fclose(f); }
  EXPECT_THROW(OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kRead),
               Error);
}

}  // namespace
}  // namespace cortado
