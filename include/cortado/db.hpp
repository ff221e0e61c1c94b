// Key-value record stores that hold training data (LMDB and LevelDB).
#ifndef CORTADO_DB_HPP_
#define CORTADO_DB_HPP_

#include <memory>
#include <string>

#include "caffe.pb.h"
#include "cortado/common.hpp"

namespace cortado {

// Walks records in key order; wraps around with SeekToFirst.
class DbCursor {
 public:
  virtual ~DbCursor() = default;
  virtual void SeekToFirst() = 0;
  virtual void Next() = 0;
  virtual bool valid() const = 0;
  virtual std::string key() const = 0;
  virtual std::string value() const = 0;
};

// Buffers writes and applies them on Commit.
class DbTransaction {
 public:
  virtual ~DbTransaction() = default;
  virtual void Put(const std::string& key, const std::string& value) = 0;
  virtual void Commit() = 0;
};

class Database {
 public:
  enum class Mode { kRead, kWrite, kNew };
  virtual ~Database() = default;
  virtual std::unique_ptr<DbCursor> NewCursor() = 0;
  virtual std::unique_ptr<DbTransaction> NewTransaction() = 0;
  virtual int64_t size() = 0;  // number of records
};

// Opens a database of the given backend; throws Error naming the path.
std::unique_ptr<Database> OpenDatabase(caffe::DataParameter::DB backend,
                                       const std::string& path,
                                       Database::Mode mode);
// A database being written by a converter: it lives under a temporary name
// beside `path` (path.tmp-PID) until Commit renames it to `path`, so a
// conversion that fails or is killed never leaves a partial, readable
// database under the final name. Without Commit the destructor removes it.
class NewDatabase {
 public:
  // Throws when `path` exists and is not an empty directory.
  NewDatabase(caffe::DataParameter::DB backend, const std::string& path);
  ~NewDatabase();
  CORTADO_DISALLOW_COPY(NewDatabase);

  Database* get() { return db_.get(); }
  // Closes the database (flushing it) and renames it to the final path.
  void Commit();

 private:
  std::string path_;
  std::string temp_;
  std::unique_ptr<Database> db_;
};

// A record key as it can appear in an error message: non-printable bytes as
// \xNN and at most 64 bytes shown. A corrupt database can hand back a key
// that runs into the record's binary value, newlines included.
std::string PrintableKey(const std::string& key);

// The backends behind OpenDatabase, one per file in src/util/.
std::unique_ptr<Database> OpenLevelDbDatabase(const std::string& path, Database::Mode mode);

}  // namespace cortado

#endif  // CORTADO_DB_HPP_
