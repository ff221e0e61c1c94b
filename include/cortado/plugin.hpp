// Plugin layers: layer types compiled as their own shared library (.so)
// against the installed headers and loaded at run time into the one layer
// registry, with a version handshake.
//
// A plugin registers its types with CORTADO_REGISTER_LAYER, like a built-in
// layer, and defines its entry point with CORTADO_PLUGIN_ENTRY:
//
//   CORTADO_REGISTER_LAYER(ScaledTanh, ScaledTanhLayer)
//   CORTADO_PLUGIN_ENTRY { RegisterScaledTanhLayer(); }
//
// examples/plugin/ is a complete one.
#ifndef CORTADO_PLUGIN_HPP_
#define CORTADO_PLUGIN_HPP_

#include <string>
#include <vector>

#include "cortado/layer_registry.hpp"
#include "cortado/version.hpp"

namespace cortado {

// Loads the plugin at `path` and registers its layer types. Loading the same
// file again does nothing. Throws Error naming the file when it does not
// exist, cannot be loaded, lacks the entry symbols, was built against
// another Cortado version, or registers a type that is already registered
// (the plugin's types registered before that one stay registered: a
// library, once loaded, is never unloaded).
void LoadPlugin(const std::string& path);

// Loads every plugin in the environment variable CORTADO_PLUGIN_PATH, a
// colon-separated list of .so files (empty entries are ignored).
void LoadPluginsFromEnvironment();

// The plugins loaded so far, as given to LoadPlugin, in load order.
std::vector<std::string> LoadedPlugins();

// Where a registered layer type came from: "built-in" or the plugin's path.
// Empty for an unknown type.
std::string LayerOrigin(const std::string& type);

}  // namespace cortado

// The two symbols a plugin exports, looked up by name with dlsym.
#define CORTADO_PLUGIN_VERSION_SYMBOL "cortado_plugin_version"
#define CORTADO_PLUGIN_REGISTER_SYMBOL "cortado_plugin_register"

// Defines the plugin's entry points: cortado_plugin_version() reports the
// Cortado version the plugin was compiled against (checked before anything
// else runs), and the body that follows the macro becomes
// cortado_plugin_register(), which registers the plugin's layer types.
#define CORTADO_PLUGIN_ENTRY                                                  \
  extern "C" __attribute__((visibility("default"))) int cortado_plugin_version() { \
    return CORTADO_VERSION_NUMBER;                                            \
  }                                                                           \
  extern "C" __attribute__((visibility("default"))) void cortado_plugin_register()

#endif  // CORTADO_PLUGIN_HPP_
