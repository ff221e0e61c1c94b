// Tests for the LMDB record store: write, read back, cursors, errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
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

// A database's file with one byte changed.
void WriteCorrupted(const std::string& bytes, size_t offset, char value,
                    const std::filesystem::path& dir) {
  std::string corrupt = bytes;
  corrupt[offset] = value;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "data.mdb", std::ios::binary | std::ios::trunc) << corrupt;
}

// Set by the child while it copies a record out of the cursor (our code),
// clear while liblmdb walks the tree, so a crash can be placed.
volatile sig_atomic_t g_copying = 0;

void OnCrash(int) { _exit(g_copying ? 20 : 21); }

// Reads every record of the database at `path` in a forked child and
// returns how the child ended: "ok", "error" (a cortado::Error), "liblmdb"
// (a crash or assertion inside liblmdb's tree walk), or a failure of ours: "crash while
// copying a record", "hung", "exit 3" (another exception).
std::string ReadInChild(const std::string& path) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(10);  // a corrupt tree that loops is a failure too
    std::signal(SIGSEGV, OnCrash);
    std::signal(SIGBUS, OnCrash);
    std::signal(SIGABRT, OnCrash);  // liblmdb's assertions (IS_LEAF) abort
    try {
      auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kRead);
      int64_t bytes = db->size();
      auto cursor = db->NewCursor();
      for (int i = 0; cursor->valid() && i < 100000; ++i, cursor->Next()) {
        g_copying = 1;
        bytes += cursor->key().size() + cursor->value().size();
        g_copying = 0;
      }
      _exit(bytes >= 0 ? 0 : 4);
    } catch (const Error&) {
      _exit(1);
    } catch (...) {
      _exit(3);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
      case 0: return "ok";
      case 1: return "error";
      case 20: return "crash while copying a record";
      case 21: return "liblmdb";
      default: return "exit " + std::to_string(WEXITSTATUS(status));
    }
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) return "hung";
  return "signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

// A corrupted data.mdb crashed `cortado test` (issue 14): a record length
// was copied unchecked. A single-byte corruption must now read cleanly or
// raise an Error, never crash in Cortado's code, hang or throw anything
// else; each runs in a forked child, so a crash cannot kill the binary.
// liblmdb (0.9.24) trusts its page headers and node offsets: on a corrupt
// B-tree page it faults inside mdb_cursor_get or aborts on an assertion
// ('IS_LEAF(mp)' in mdb_cursor_next). The cursor turns both into Errors
// (a fault guard around mdb_cursor_get, and liblmdb's assert hook), so
// any crash or abort inside liblmdb fails the test too. A full sweep of
// every byte runs with CORTADO_EXHAUSTIVE_CORRUPTION=1 (about a minute).
TEST(DbTest, CorruptedDatabaseReadsOrRaisesButNeverCrashes) {
  TempDir dir;
  const std::string original = dir.File("db");
  {
    // Small records and values big enough for overflow pages, in enough
    // numbers for a branch page: every kind of page LMDB writes.
    auto db = OpenDatabase(caffe::DataParameter::LMDB, original, Database::Mode::kNew);
    auto txn = db->NewTransaction();
    for (int i = 0; i < 120; ++i) {
      txn->Put(Key(i), std::string(i % 50 == 0 ? 6000 : 40 + i % 7, static_cast<char>(i)));
    }
    txn->Commit();
  }
  std::ifstream in(dir.path() / "db" / "data.mdb", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 4u * 4096);
  ASSERT_EQ(ReadInChild(original), "ok");
  std::mt19937 rng(14);
  std::vector<std::string> failures;
  int runs = 0, errors = 0;
  // Each page's first 64 bytes (headers, node offsets) densely, with two
  // values each when exhaustive, and the rest sparsely.
  const bool exhaustive = std::getenv("CORTADO_EXHAUSTIVE_CORRUPTION") != nullptr;
  const size_t header_step = exhaustive ? 1 : 4, body_step = exhaustive ? 37 : 151;
  for (size_t offset = 0; offset < bytes.size();
       offset += offset % 4096 < 64 ? header_step : body_step) {
    std::vector<char> values{static_cast<char>(~bytes[offset])};
    if (exhaustive && offset % 4096 < 64) values.push_back(static_cast<char>(rng()));
    for (char value : values) {
      const std::filesystem::path corrupt = dir.path() / "corrupt";
      WriteCorrupted(bytes, offset, value, corrupt);
      const std::string result = ReadInChild(corrupt.string());
      ++runs;
      if (result == "error") ++errors;
      if (result != "ok" && result != "error") {
        failures.push_back("offset " + std::to_string(offset) + " = " +
                           std::to_string(static_cast<unsigned char>(value)) + ": " + result);
      }
    }
  }
  std::string list;
  for (const std::string& f : failures) list += "\n  " + f;
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << runs << " corruptions failed ("
                                << errors << " raised an Error):" << list;
  EXPECT_GT(errors, 0);
}

}  // namespace
}  // namespace cortado
