// The layer-type registry and its "did you mean" suggestions.
#include "cortado/layer_registry.hpp"

#include "cortado/layer_origin.hpp"
#include "cortado/plugin.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

namespace cortado {

void RegisterBuiltinLayers();  // src/layers/builtin_layers.cpp

namespace {

constexpr const char* kBuiltIn = "built-in";

struct Entry {
  LayerRegistry::Creator creator;
  unsigned devices;
  std::string origin;  // "built-in" or a plugin's path
};

std::map<std::string, Entry>& Table() {
  static std::map<std::string, Entry> table;
  return table;
}

std::mutex& TableMutex() {
  static std::mutex mutex;
  return mutex;
}

// Guarded by TableMutex.
std::string& CurrentOrigin() {
  static std::string origin = kBuiltIn;
  return origin;
}

void EnsureBuiltins() {
  static std::once_flag once;
  std::call_once(once, [] { RegisterBuiltinLayers(); });
}

int EditDistance(const std::string& a, const std::string& b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int substitute = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

void LayerRegistry::Add(const std::string& type, Creator creator, unsigned devices) {
  std::lock_guard<std::mutex> lock(TableMutex());
  auto& table = Table();
  auto it = table.find(type);
  if (it != table.end()) {
    // A plugin may well pick a name that is taken; say who has it.
    ThrowError(CurrentOrigin() == kBuiltIn ? std::string(kBuiltIn) : "plugin '" + CurrentOrigin() + "'",
               ": layer type '", type, "' is already registered (",
               it->second.origin == kBuiltIn ? std::string(kBuiltIn) : "by plugin '" + it->second.origin + "'",
               "); rename the type in the plugin");
  }
  if (!CudaBuilt()) devices &= ~(kLayerCuda | kLayerCudnn);
  table[type] = Entry{creator, devices, CurrentOrigin()};
}

ScopedLayerOrigin::ScopedLayerOrigin(const std::string& origin) {
  EnsureBuiltins();  // before the origin changes: built-ins stay "built-in"
  std::lock_guard<std::mutex> lock(TableMutex());
  previous_ = CurrentOrigin();
  CurrentOrigin() = origin;
}

ScopedLayerOrigin::~ScopedLayerOrigin() {
  std::lock_guard<std::mutex> lock(TableMutex());
  CurrentOrigin() = previous_;
}

std::string LayerOrigin(const std::string& type) {
  EnsureBuiltins();
  std::lock_guard<std::mutex> lock(TableMutex());
  auto it = Table().find(type);
  return it == Table().end() ? std::string() : it->second.origin;
}

std::unique_ptr<Layer> LayerRegistry::Create(const caffe::LayerParameter& param) {
  EnsureBuiltins();
  Creator creator = nullptr;
  unsigned devices = 0;
  {
    std::lock_guard<std::mutex> lock(TableMutex());
    auto it = Table().find(param.type());
    if (it != Table().end()) {
      creator = it->second.creator;
      devices = it->second.devices;
    }
  }
  if (!creator) {
    std::string hint;
    for (const std::string& s : Suggestions(param.type())) hint += (hint.empty() ? "" : ", ") + s;
    ThrowError("layer '", param.name(), "': unknown layer type '", param.type(), "'",
               hint.empty() ? std::string() : " (did you mean: " + hint + "?)",
               "; `cortado layers` lists every registered type");
  }
  std::unique_ptr<Layer> layer = creator(param);
  layer->set_devices(devices);
  return layer;
}

bool LayerRegistry::Has(const std::string& type) {
  EnsureBuiltins();
  std::lock_guard<std::mutex> lock(TableMutex());
  return Table().count(type) > 0;
}

std::vector<std::string> LayerRegistry::Types() {
  EnsureBuiltins();
  std::lock_guard<std::mutex> lock(TableMutex());
  std::vector<std::string> types;
  for (const auto& entry : Table()) types.push_back(entry.first);
  return types;
}

unsigned LayerRegistry::Devices(const std::string& type) {
  EnsureBuiltins();
  std::lock_guard<std::mutex> lock(TableMutex());
  auto it = Table().find(type);
  return it == Table().end() ? 0 : it->second.devices;
}

std::vector<std::string> LayerRegistry::Suggestions(const std::string& type) {
  std::vector<std::pair<int, std::string>> scored;
  for (const std::string& name : Types()) {
    scored.emplace_back(EditDistance(type, name), name);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> best;
  const int limit = std::max<int>(2, static_cast<int>(type.size()) / 2);
  for (const auto& s : scored) {
    if (s.first > limit || best.size() == 3) break;
    best.push_back(s.second);
  }
  return best;
}

}  // namespace cortado
