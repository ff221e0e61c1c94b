// Where the shared conformance set (nets, solvers, real weights) lives, and a
// skip for tests that need it when a checkout does not have it, and how its
// nets are cut down to a test batch.
#ifndef CORTADO_TESTS_CONFORMANCE_DIR_HPP_
#define CORTADO_TESTS_CONFORMANCE_DIR_HPP_

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "cortado/net.hpp"

namespace cortado {
namespace testing {

// ../shared/conformance beside the source tree; CORTADO_CONFORMANCE_DIR
// overrides it (the test that the suite copes without it uses that).
inline std::filesystem::path ConformanceRoot() {
  const char* override_dir = std::getenv("CORTADO_CONFORMANCE_DIR");
  if (override_dir != nullptr && *override_dir != '\0') return override_dir;
  return std::filesystem::path(CORTADO_SOURCE_DIR) / ".." / "shared" / "conformance";
}

// The path of a file of the set, as a string with a trailing slash for folders
// given as "weights/" etc.
inline std::string ConformancePath(const std::string& relative) {
  return (ConformanceRoot() / relative).string();
}

inline bool HaveConformanceSet() {
  std::error_code ec;
  return std::filesystem::is_directory(ConformanceRoot(), ec);
}

}  // namespace testing

// Deploy nets' Input layers shrink to at most `batch` items, like the
// stubbed data sources beside them.
inline void CapInputBatch(caffe::NetParameter* param, int batch) {
  for (auto& layer : *param->mutable_layer()) {
    if (layer.type() != "Input") continue;
    for (auto& shape : *layer.mutable_input_param()->mutable_shape()) {
      if (shape.dim_size() > 0 && shape.dim(0) > batch) shape.set_dim(0, batch);
    }
  }
}

}  // namespace cortado

// Skips the current test, saying why, when the conformance set is absent.
#define CORTADO_SKIP_WITHOUT_CONFORMANCE()                                            \
  do {                                                                                \
    if (!::cortado::testing::HaveConformanceSet()) {                                  \
      GTEST_SKIP() << "skipped: the conformance set "                                 \
                   << ::cortado::testing::ConformanceRoot().string() << " is missing"; \
    }                                                                                 \
  } while (0)

#endif  // CORTADO_TESTS_CONFORMANCE_DIR_HPP_
