// The LevelDB record store behind Database/DbCursor/DbTransaction, the
// backend older Caffe data sets (and DataParameter's default) use.
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <filesystem>
#include <memory>
#include <string>

#include "cortado/common.hpp"
#include "cortado/db.hpp"

namespace cortado {
namespace {

void CheckStatus(const leveldb::Status& status, const std::string& path, const char* what) {
  if (!status.ok()) ThrowError("LevelDB ", path, ": ", what, " failed: ", status.ToString());
}

class LevelDbCursor : public DbCursor {
 public:
  LevelDbCursor(leveldb::Iterator* iter, std::string path)
      : iter_(iter), path_(std::move(path)) {
    SeekToFirst();
  }
  void SeekToFirst() override { iter_->SeekToFirst(); Check(); }
  void Next() override { iter_->Next(); Check(); }
  bool valid() const override { return iter_->Valid(); }
  std::string key() const override { return iter_->key().ToString(); }
  std::string value() const override { return iter_->value().ToString(); }

 private:
  void Check() { CheckStatus(iter_->status(), path_, "iteration"); }

  std::unique_ptr<leveldb::Iterator> iter_;
  std::string path_;
};

class LevelDbTransaction : public DbTransaction {
 public:
  LevelDbTransaction(leveldb::DB* db, std::string path) : db_(db), path_(std::move(path)) {}
  void Put(const std::string& key, const std::string& value) override { batch_.Put(key, value); }
  void Commit() override {
    CheckStatus(db_->Write(leveldb::WriteOptions(), &batch_), path_, "write");
    batch_.Clear();
  }

 private:
  leveldb::DB* db_;
  std::string path_;
  leveldb::WriteBatch batch_;
};

class LevelDbDatabase : public Database {
 public:
  LevelDbDatabase(const std::string& path, Mode mode) : path_(path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (mode == Mode::kRead && !fs::is_directory(path, ec)) {
      ThrowError("LevelDB ", path, ": no such database directory");
    }
    leveldb::Options options;
    options.create_if_missing = mode != Mode::kRead;
    options.error_if_exists = mode == Mode::kNew;
    // Caffe's writers used large write buffers; readers need no tuning.
    options.write_buffer_size = 64 << 20;
    leveldb::DB* db = nullptr;
    CheckStatus(leveldb::DB::Open(options, path, &db), path, "open");
    db_.reset(db);
  }

  std::unique_ptr<DbCursor> NewCursor() override {
    leveldb::ReadOptions options;
    options.fill_cache = false;  // a data layer reads each record once per epoch
    return std::make_unique<LevelDbCursor>(db_->NewIterator(options), path_);
  }
  std::unique_ptr<DbTransaction> NewTransaction() override {
    return std::make_unique<LevelDbTransaction>(db_.get(), path_);
  }
  // LevelDB keeps no record count, so this walks the keys once.
  int64_t size() override {
    std::unique_ptr<leveldb::Iterator> iter(db_->NewIterator(leveldb::ReadOptions()));
    int64_t count = 0;
    for (iter->SeekToFirst(); iter->Valid(); iter->Next()) ++count;
    CheckStatus(iter->status(), path_, "counting records");
    return count;
  }

 private:
  std::string path_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

std::unique_ptr<Database> OpenLevelDbDatabase(const std::string& path, Database::Mode mode) {
  return std::make_unique<LevelDbDatabase>(path, mode);
}

}  // namespace cortado
