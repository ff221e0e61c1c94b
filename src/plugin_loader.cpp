// Loading plugin layers from shared libraries (dlopen), with the version
// handshake and the errors a user can act on.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "cortado/common.hpp"
#include "cortado/layer_origin.hpp"
#include "cortado/plugin.hpp"

namespace cortado {
namespace {

struct LoadedPlugin {
  std::string path;       // as the user gave it, for messages and listings
  std::string canonical;  // to notice the same file given twice
};

// Guards the list and serialises loading, so one plugin registers at a time.
std::mutex& LoaderMutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<LoadedPlugin>& Loaded() {
  static std::vector<LoadedPlugin> loaded;
  return loaded;
}

std::string VersionText(int number) {
  return std::to_string(number / 10000) + "." + std::to_string(number / 100 % 100) + "." +
         std::to_string(number % 100);
}

}  // namespace

void LoadPlugin(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (path.empty()) ThrowError("plugin: empty path");
  if (!fs::is_regular_file(path, error)) {
    ThrowError("plugin '", path, "': no such file");
  }
  const std::string canonical = fs::canonical(path, error).string();
  std::lock_guard<std::mutex> lock(LoaderMutex());
  for (const LoadedPlugin& plugin : Loaded()) {
    if (plugin.canonical == canonical) return;
  }
  // RTLD_NOW: a symbol the plugin needs but this library lacks (a plugin
  // built against another Cortado) fails here, with the loader's message,
  // rather than at the first call. RTLD_LOCAL keeps plugins apart.
  void* handle = dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    ThrowError("plugin '", path, "': cannot load it: ", why ? why : "unknown error");
  }
  // The handle is never closed: registered creators point into the plugin.
  auto version = reinterpret_cast<int (*)()>(dlsym(handle, CORTADO_PLUGIN_VERSION_SYMBOL));
  auto entry = reinterpret_cast<void (*)()>(dlsym(handle, CORTADO_PLUGIN_REGISTER_SYMBOL));
  if (!version || !entry) {
    ThrowError("plugin '", path, "': no '",
               !version ? CORTADO_PLUGIN_VERSION_SYMBOL : CORTADO_PLUGIN_REGISTER_SYMBOL,
               "' symbol; is it a Cortado plugin? (define its entry point with "
               "CORTADO_PLUGIN_ENTRY from cortado/plugin.hpp)");
  }
  const int built_against = version();
  if (built_against != CORTADO_VERSION_NUMBER) {
    ThrowError("plugin '", path, "' was built against Cortado ", VersionText(built_against),
               ", but this is Cortado ", CORTADO_VERSION_STRING,
               "; rebuild the plugin against this version's headers");
  }
  {
    ScopedLayerOrigin origin(path);
    entry();
  }
  Loaded().push_back({path, canonical});
}

void LoadPluginsFromEnvironment() {
  const char* list = std::getenv("CORTADO_PLUGIN_PATH");
  if (!list) return;
  const std::string paths = list;
  size_t start = 0;
  while (start <= paths.size()) {
    size_t end = paths.find(':', start);
    if (end == std::string::npos) end = paths.size();
    const std::string path = paths.substr(start, end - start);
    if (!path.empty()) {
      try {
        LoadPlugin(path);
      } catch (const Error& e) {
        ThrowError("CORTADO_PLUGIN_PATH: ", e.what());
      }
    }
    start = end + 1;
  }
}

std::vector<std::string> LoadedPlugins() {
  std::lock_guard<std::mutex> lock(LoaderMutex());
  std::vector<std::string> paths;
  for (const LoadedPlugin& plugin : Loaded()) paths.push_back(plugin.path);
  return paths;
}

}  // namespace cortado
