// A scratch directory for one test, removed with everything in it afterwards.
#ifndef CORTADO_TESTS_TEMP_DIR_HPP_
#define CORTADO_TESTS_TEMP_DIR_HPP_

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace cortado {
namespace testing {

class TempDir {
 public:
  // The pid and a counter keep parallel test processes (ctest -j) apart.
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("cortado_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A path inside the directory, as a string for APIs that want one.
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace testing
}  // namespace cortado

#endif  // CORTADO_TESTS_TEMP_DIR_HPP_
