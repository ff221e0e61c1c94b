// The LMDB record store behind Database/DbCursor/DbTransaction (Caffe's layout).
#include <lmdb.h>
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "cortado/common.hpp"
#include "cortado/db.hpp"

namespace cortado {
namespace {

namespace fs = std::filesystem;

// The map is only address space until pages are written, so reserving 1 TB up
// front means a database never has to be grown while it is being filled.
constexpr size_t kMapSize = sizeof(void*) >= 8 ? (size_t{1} << 40)
                                               : (size_t{1} << 30);

void CheckMdb(int status, const std::string& path, const char* what) {
  if (status != MDB_SUCCESS) {
    ThrowError("LMDB ", path, ": ", what, " failed: ", mdb_strerror(status));
  }
}

// liblmdb trusts the page headers and node offsets of data.mdb; a page
// overwritten with garbage sends mdb_cursor_get through wild pointers. A
// fault while this thread is inside mdb_cursor_get jumps back to the cursor,
// which throws an Error naming the database. Readers take no locks
// (MDB_NOLOCK) and mdb_cursor_get allocates nothing, so abandoning the call
// leaves nothing held. Faults elsewhere go to the handler that was there
// before (the default one, a sanitizer's or the embedding program's).
thread_local sigjmp_buf* t_lmdb_fault_jump = nullptr;
struct sigaction g_previous_segv;
struct sigaction g_previous_bus;

void OnFault(int signal_number, siginfo_t* info, void* context) {
  if (t_lmdb_fault_jump != nullptr) siglongjmp(*t_lmdb_fault_jump, signal_number);
  const struct sigaction& previous = signal_number == SIGSEGV ? g_previous_segv : g_previous_bus;
  if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(signal_number, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(signal_number);
  } else {
    // Returning re-runs the faulting instruction, which now kills the
    // process as it would have without us.
    signal(signal_number, SIG_DFL);
  }
}

// Checked at every step (two sigaction calls, well under a microsecond)
// rather than once: a program that sets its own handler later is chained to,
// not left without the guard.
void InstallFaultHandler() {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  for (int signal_number : {SIGSEGV, SIGBUS}) {
    struct sigaction current;
    sigaction(signal_number, nullptr, &current);
    if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == OnFault) continue;
    struct sigaction action = {};
    action.sa_sigaction = OnFault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action,
              signal_number == SIGSEGV ? &g_previous_segv : &g_previous_bus);
  }
}

// Runs one liblmdb read call under the fault guard and returns its status.
// A fault inside it, or liblmdb's assert hook, becomes an Error naming the
// database.
template <typename Call>
int Guarded(const std::string& path, Call call) {
  InstallFaultHandler();
  sigjmp_buf jump;
  if (sigsetjmp(jump, 1) != 0) {
    t_lmdb_fault_jump = nullptr;
    ThrowError("LMDB ", path, ": data.mdb is corrupt (liblmdb faulted reading it); ",
               "rebuild the database");
  }
  t_lmdb_fault_jump = &jump;
  int status = MDB_SUCCESS;
  try {
    status = call();
  } catch (...) {  // ThrowCorruptDatabase, from liblmdb's assert hook
    t_lmdb_fault_jump = nullptr;
    throw;
  }
  t_lmdb_fault_jump = nullptr;
  return status;
}

// Owns a read-only transaction and a cursor over it. MDB_NOTLS on the
// environment detaches the transaction from the creating thread, so the data
// layer may create the cursor on one thread and step it on its prefetcher.
class LmdbCursor : public DbCursor {
 public:
  // file_size bounds every record's length: a corrupt page can claim any.
  LmdbCursor(MDB_env* env, MDB_dbi dbi, std::string path, uint64_t file_size)
      : path_(std::move(path)), file_size_(file_size) {
    CheckMdb(Guarded(path_, [&] { return mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_); }),
             path_, "mdb_txn_begin (read)");
    int status = mdb_cursor_open(txn_, dbi, &cursor_);
    if (status != MDB_SUCCESS) {
      mdb_txn_abort(txn_);
      CheckMdb(status, path_, "mdb_cursor_open");
    }
    SeekToFirst();
  }
  ~LmdbCursor() override {
    mdb_cursor_close(cursor_);
    mdb_txn_abort(txn_);
  }
  CORTADO_DISALLOW_COPY(LmdbCursor);

  void SeekToFirst() override { Step(MDB_FIRST); }
  void Next() override { Step(MDB_NEXT); }
  bool valid() const override { return valid_; }
  std::string key() const override {
    return std::string(static_cast<const char*>(key_.mv_data), key_.mv_size);
  }
  std::string value() const override {
    return std::string(static_cast<const char*>(value_.mv_data),
                       value_.mv_size);
  }

 private:
  void Step(MDB_cursor_op op) {
    valid_ = false;
    const int status =
        Guarded(path_, [&] { return mdb_cursor_get(cursor_, &key_, &value_, op); });
    if (status == MDB_NOTFOUND) return;
    CheckMdb(status, path_, "mdb_cursor_get");
    // A key or value longer than the whole file (or with no bytes to point
    // at) is a corrupt page's length field; copying it would read past the
    // map. Checked before any copy.
    const auto bad = [&](const MDB_val& v) {
      return v.mv_size > file_size_ || (v.mv_size > 0 && v.mv_data == nullptr);
    };
    if (bad(key_) || bad(value_)) {
      ThrowError("LMDB ", path_, ": corrupt record (key of ", key_.mv_size, " bytes, value of ",
                 value_.mv_size, " bytes, in a file of ", file_size_, " bytes)");
    }
    valid_ = true;
  }

  std::string path_;
  uint64_t file_size_;
  MDB_txn* txn_ = nullptr;
  MDB_cursor* cursor_ = nullptr;
  MDB_val key_{0, nullptr};
  MDB_val value_{0, nullptr};
  bool valid_ = false;
};

// Writes are buffered so a whole batch lands in one write transaction: LMDB
// write transactions are expensive (an fsync each), so callers commit every
// thousand or so records.
class LmdbTransaction : public DbTransaction {
 public:
  LmdbTransaction(MDB_env* env, MDB_dbi dbi, std::string path)
      : env_(env), dbi_(dbi), path_(std::move(path)) {}
  CORTADO_DISALLOW_COPY(LmdbTransaction);

  void Put(const std::string& key, const std::string& value) override {
    pending_.emplace_back(key, value);
  }

  void Commit() override {
    MDB_txn* txn = nullptr;
    CheckMdb(mdb_txn_begin(env_, nullptr, 0, &txn), path_,
             "mdb_txn_begin (write)");
    for (auto& [key, value] : pending_) {
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v{value.size(), const_cast<char*>(value.data())};
      int status = mdb_put(txn, dbi_, &k, &v, 0);
      if (status != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        ThrowError("LMDB ", path_, ": mdb_put of key '", key,
                   "' failed: ", mdb_strerror(status));
      }
    }
    CheckMdb(mdb_txn_commit(txn), path_, "mdb_txn_commit");
    pending_.clear();
  }

 private:
  MDB_env* env_;
  MDB_dbi dbi_;
  std::string path_;
  std::vector<std::pair<std::string, std::string>> pending_;
};

// liblmdb asserts on pages it cannot make sense of (IS_LEAF in
// mdb_cursor_next when a page of data.mdb is overwritten) and then aborts
// the process. Its assert hook runs first: throwing from it unwinds through
// liblmdb's frames (Debian builds it with unwind tables) and turns the abort
// into an Error naming the database. Readers hold no locks (MDB_NOLOCK), so
// nothing is left held.
void ThrowCorruptDatabase(MDB_env* env, const char* message) {
  const auto* path = static_cast<const std::string*>(mdb_env_get_userctx(env));
  ThrowError("LMDB ", path ? *path : std::string("database"), ": data.mdb is corrupt (liblmdb: ",
             message, "); rebuild the database");
}

class LmdbDatabase : public Database {
 public:
  LmdbDatabase(const std::string& path, Mode mode) : path_(path) {
    PrepareDirectory(mode);
    CheckMdb(mdb_env_create(&env_), path_, "mdb_env_create");
    unsigned flags = 0;
    if (mode == Mode::kRead) {
      // MDB_NOLOCK: readers take no lock slots and need no writable
      // lock.mdb (so a database on a read-only mount opens), which is sound
      // because nothing writes a database while it is read: converters
      // write under a temporary name and rename when done.
      flags = MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK;
      // Only readers: a writer holds lock.mdb's mutex, which a throw would leak.
      mdb_env_set_userctx(env_, &path_);
      mdb_env_set_assert(env_, ThrowCorruptDatabase);
      // A reader otherwise maps the writer's recorded map size (1 TB for
      // Caffe's and ours), which fails under ulimit -v and sanitizers. The
      // file size is enough; LMDB raises it to the committed size if needed.
      std::error_code ec;
      file_size_ = fs::file_size(fs::path(path_) / "data.mdb", ec);
      if (ec) {
        mdb_env_close(env_);
        env_ = nullptr;
        ThrowError("LMDB ", path_, ": cannot read data.mdb: ", ec.message());
      }
      if (file_size_ < 2 * 4096) {
        mdb_env_close(env_);
        env_ = nullptr;
        ThrowError("LMDB ", path_, ": data.mdb (", file_size_, " bytes) is too short to hold "
                   "LMDB's two meta pages; the database is truncated or not an LMDB");
      }
      CheckOrClose(mdb_env_set_mapsize(env_, file_size_), "mdb_env_set_mapsize");
    } else {
      CheckOrClose(mdb_env_set_mapsize(env_, kMapSize), "mdb_env_set_mapsize");
    }
    CheckOrClose(Guarded(path_, [&] { return mdb_env_open(env_, path_.c_str(), flags, 0664); }),
                 "mdb_env_open");
    MDB_txn* txn = nullptr;
    CheckOrClose(Guarded(path_,
                         [&] {
                           return mdb_txn_begin(env_, nullptr,
                                                mode == Mode::kRead ? MDB_RDONLY : 0, &txn);
                         }),
                 "mdb_txn_begin");
    int status = Guarded(path_, [&] { return mdb_dbi_open(txn, nullptr, 0, &dbi_); });
    if (status != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      CheckOrClose(status, "mdb_dbi_open");
    }
    // Committing (not aborting) keeps the dbi handle valid for later
    // transactions, read-only ones included.
    CheckOrClose(mdb_txn_commit(txn), "mdb_txn_commit");
  }
  ~LmdbDatabase() override { mdb_env_close(env_); }
  CORTADO_DISALLOW_COPY(LmdbDatabase);

  std::unique_ptr<DbCursor> NewCursor() override {
    return std::make_unique<LmdbCursor>(env_, dbi_, path_,
                                        file_size_ > 0 ? file_size_ : UINT64_MAX);
  }
  std::unique_ptr<DbTransaction> NewTransaction() override {
    return std::make_unique<LmdbTransaction>(env_, dbi_, path_);
  }
  int64_t size() override {
    MDB_txn* txn = nullptr;
    CheckMdb(Guarded(path_, [&] { return mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); }),
             path_, "mdb_txn_begin (stat)");
    MDB_stat stat;
    int status = Guarded(path_, [&] { return mdb_stat(txn, dbi_, &stat); });
    mdb_txn_abort(txn);
    CheckMdb(status, path_, "mdb_stat");
    return static_cast<int64_t>(stat.ms_entries);
  }

 private:
  // LMDB wants an existing directory; give a clearer message than its ENOENT
  // and refuse to overwrite a database that is already there.
  void PrepareDirectory(Mode mode) {
    std::error_code ec;
    bool exists = fs::exists(path_, ec);
    if (mode == Mode::kRead) {
      if (!exists) ThrowError("LMDB ", path_, ": no such database directory");
      if (!fs::is_directory(path_, ec)) {
        ThrowError("LMDB ", path_,
                   ": not a directory (an LMDB is a directory holding "
                   "data.mdb and lock.mdb)");
      }
      return;
    }
    if (exists) {
      if (!fs::is_directory(path_, ec)) {
        ThrowError("LMDB ", path_, ": exists and is not a directory");
      }
      if (mode == Mode::kNew && !fs::is_empty(path_, ec)) {
        ThrowError("LMDB ", path_,
                   ": already exists and is not empty; remove it first");
      }
      return;
    }
    if (!fs::create_directories(path_, ec) || ec) {
      ThrowError("LMDB ", path_, ": cannot create directory: ", ec.message());
    }
  }

  void CheckOrClose(int status, const char* what) {
    if (status != MDB_SUCCESS) {
      mdb_env_close(env_);
      env_ = nullptr;
      CheckMdb(status, path_, what);
    }
  }

  std::string path_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  uint64_t file_size_ = 0;  // of data.mdb, for readers
};

}  // namespace

std::unique_ptr<Database> OpenDatabase(caffe::DataParameter::DB backend,
                                       const std::string& path,
                                       Database::Mode mode) {
  switch (backend) {
    case caffe::DataParameter::LMDB:
      return std::make_unique<LmdbDatabase>(path, mode);
    case caffe::DataParameter::LEVELDB:
      return OpenLevelDbDatabase(path, mode);
  }
  ThrowError("unknown database backend ", static_cast<int>(backend), " for ",
             path);
}

NewDatabase::NewDatabase(caffe::DataParameter::DB backend, const std::string& path)
    : path_(path), temp_(StrCat(path, ".tmp-", getpid())) {
  std::error_code ec;
  if (fs::exists(path_, ec) && !(fs::is_directory(path_, ec) && fs::is_empty(path_, ec))) {
    ThrowError("database ", path_, ": already exists; remove it first");
  }
  fs::remove_all(temp_, ec);  // left by an earlier process with our pid
  db_ = OpenDatabase(backend, temp_, Database::Mode::kNew);
}

NewDatabase::~NewDatabase() {
  if (!db_) return;
  db_.reset();
  std::error_code ec;
  fs::remove_all(temp_, ec);
}

void NewDatabase::Commit() {
  db_.reset();
  // rename(2) replaces an empty directory, as the check above allowed.
  if (rename(temp_.c_str(), path_.c_str()) != 0) {
    const int saved = errno;
    std::error_code ec;
    fs::remove_all(temp_, ec);
    ThrowError("database ", path_, ": cannot rename ", temp_, " to it: ", std::strerror(saved));
  }
}

}  // namespace cortado
