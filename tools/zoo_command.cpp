// The zoo lives in Python (HTTP downloads, YAML readmes, NumPy comparisons are one
// standard-library call each there); the C++ tool only finds the interpreter and
// the package and execs it, so `cortado zoo` and `python3 -m cortado.zoo` are one program.
#include "zoo_command.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace cortado {
namespace {

// Build-time locations, overridable by the environment of the installed tool.
#ifndef CORTADO_ZOO_PYTHON
#define CORTADO_ZOO_PYTHON "/usr/bin/python3"
#endif
#ifndef CORTADO_ZOO_PYTHONPATH
#define CORTADO_ZOO_PYTHONPATH ""
#endif
#ifndef CORTADO_ZOO_MODELS_DIR
#define CORTADO_ZOO_MODELS_DIR ""
#endif

void SetIfUnset(const char* name, const std::string& value) {
  if (!value.empty() && std::getenv(name) == nullptr) setenv(name, value.c_str(), 1);
}

}  // namespace

int RunZooCommand(int argc, char** argv) {
  const std::string python_path = CORTADO_ZOO_PYTHONPATH;
  if (!python_path.empty()) {
    const char* existing = std::getenv("PYTHONPATH");
    const std::string joined =
        existing && *existing ? python_path + ":" + existing : python_path;
    setenv("PYTHONPATH", joined.c_str(), 1);
  }
  SetIfUnset("CORTADO_MODELS_DIR", CORTADO_ZOO_MODELS_DIR);
  // glog reads this when the module loads: the nets' set-up log would bury the
  // zoo's table (warnings and errors still show).
  SetIfUnset("GLOG_minloglevel", "1");
  std::vector<char*> args;
  std::string python = CORTADO_ZOO_PYTHON;
  std::string dash_m = "-m";
  std::string module = "cortado.zoo";
  args.push_back(&python[0]);
  args.push_back(&dash_m[0]);
  args.push_back(&module[0]);
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(python.c_str(), args.data());
  std::fprintf(stderr, "cortado: error: cannot run %s for `cortado zoo`: %s\n", python.c_str(),
               std::strerror(errno));
  return 1;
}

}  // namespace cortado
