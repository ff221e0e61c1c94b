// The plugin loader in process: a plugin's layer joins the registry with its
// origin, and each way a plugin can be wrong gives an error naming the file.
#include "cortado/plugin.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/common.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

namespace fs = std::filesystem;

// Runs `load` and returns its Error's message (empty, and a failure, if none).
template <typename Load>
std::string ErrorOf(Load load) {
  try {
    load();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(PluginLoaderTest, PluginLayerJoinsTheRegistryWithItsOrigin) {
  const std::string path = CORTADO_TEST_PLUGIN_PATH;
  LoadPlugin(path);
  LoadPlugin(path);  // again: nothing happens
  ASSERT_TRUE(LayerRegistry::Has("PluginIdentity"));
  EXPECT_EQ(path, LayerOrigin("PluginIdentity"));
  EXPECT_EQ("built-in", LayerOrigin("Convolution"));
  EXPECT_EQ("", LayerOrigin("NoSuchType"));
  const std::vector<std::string> loaded = LoadedPlugins();
  EXPECT_EQ(1, std::count(loaded.begin(), loaded.end(), path));

  caffe::LayerParameter param;
  param.set_name("copy");
  param.set_type("PluginIdentity");
  auto layer = LayerRegistry::Create(param);
  Blob x({2, 3}), y;
  for (int i = 0; i < 6; ++i) x.mutable_cpu_data()[i] = 0.5f * i - 1;
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  ASSERT_EQ(x.shape(), y.shape());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(x.cpu_data()[i], y.cpu_data()[i]);
}

TEST(PluginLoaderTest, MissingFile) {
  EXPECT_EQ("plugin '/no/such/plugin.so': no such file",
            ErrorOf([] { LoadPlugin("/no/such/plugin.so"); }));
}

TEST(PluginLoaderTest, NotAPlugin) {
  const std::string path = CORTADO_SHARED_LIBRARY_PATH;  // a library without the entry points
  const std::string message = ErrorOf([&] { LoadPlugin(path); });
  EXPECT_NE(message.find("plugin '" + path + "': no 'cortado_plugin_version' symbol"),
            std::string::npos) << message;
  const std::string text_file = std::string(CORTADO_SOURCE_DIR) + "/README.md";
  const std::string not_elf = ErrorOf([&] { LoadPlugin(text_file); });
  EXPECT_NE(not_elf.find("plugin '" + text_file + "': cannot load it: "), std::string::npos)
      << not_elf;
}

TEST(PluginLoaderTest, BuiltAgainstAnotherVersion) {
  const std::string path = CORTADO_WRONG_VERSION_PLUGIN_PATH;
  const std::string message = ErrorOf([&] { LoadPlugin(path); });
  EXPECT_NE(message.find("plugin '" + path + "' was built against Cortado "), std::string::npos)
      << message;
  EXPECT_NE(message.find(std::string("this is Cortado ") + CORTADO_VERSION_STRING),
            std::string::npos) << message;
}

TEST(PluginLoaderTest, DuplicateTypeNamesBothPlugins) {
  const std::string original = CORTADO_TEST_PLUGIN_PATH;
  LoadPlugin(original);
  // The same library under another name registers the same type again.
  const fs::path copy = fs::temp_directory_path() / "cortado_identity_plugin_copy.so";
  fs::copy_file(original, copy, fs::copy_options::overwrite_existing);
  const std::string message = ErrorOf([&] { LoadPlugin(copy.string()); });
  fs::remove(copy);
  EXPECT_EQ("plugin '" + copy.string() + "': layer type 'PluginIdentity' is already registered "
            "(by plugin '" + original + "'); rename the type in the plugin",
            message);
  EXPECT_EQ(original, LayerOrigin("PluginIdentity"));  // the first one keeps it
}

}  // namespace
}  // namespace cortado
