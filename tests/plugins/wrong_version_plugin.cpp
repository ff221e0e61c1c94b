// A plugin that claims the next Cortado version, for plugin_loader_test: the
// loader must refuse it before calling its entry point.
#include <cstdlib>

#include "cortado/version.hpp"

extern "C" __attribute__((visibility("default"))) int cortado_plugin_version() {
  return CORTADO_VERSION_NUMBER + 1;
}

extern "C" __attribute__((visibility("default"))) void cortado_plugin_register() {
  std::abort();  // never reached: the version check comes first
}
