// Shared set-up of the fuzz targets: libFuzzer calls LLVMFuzzerInitialize once.
#include "fuzz_common.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <glog/logging.h>
#include <google/protobuf/stubs/logging.h>

namespace cortado {
namespace fuzz {

const std::string& WriteScratchFile(const uint8_t* data, size_t size,
                                    const std::string& suffix) {
  // One file per suffix: the loaders choose their format by it.
  static std::map<std::string, std::string> paths;
  std::string& path = paths[suffix];
  if (path.empty()) {
    path = (std::filesystem::temp_directory_path() /
            ("cortado_fuzz_" + std::to_string(getpid()) + suffix))
               .string();
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::cerr << "fuzz: cannot write scratch file " << path << "\n";
    std::abort();
  }
  return path;
}

const std::string& WriteScratchFile(const std::string& bytes, const std::string& suffix) {
  return WriteScratchFile(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                          suffix);
}

}  // namespace fuzz
}  // namespace cortado

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // Every rejected input would otherwise log its error: thousands a second.
  FLAGS_minloglevel = google::GLOG_FATAL;
  FLAGS_logtostderr = true;
  google::protobuf::SetLogHandler(nullptr);
  if (const char* seed_out = std::getenv("CORTADO_FUZZ_SEED_OUT")) {
    std::ofstream out(seed_out, std::ios::binary | std::ios::trunc);
    out << cortado::fuzz::ValidSeed();
    out.close();  // std::exit runs no destructors: flush by hand
    std::exit(out ? 0 : 1);
  }
  return 0;
}
