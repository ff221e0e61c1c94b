// The one registry of layer types, keyed by the prototxt `type` string.
#ifndef CORTADO_LAYER_REGISTRY_HPP_
#define CORTADO_LAYER_REGISTRY_HPP_

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "caffe.pb.h"
#include "cortado/layer.hpp"

namespace cortado {

// A layer class's device flags: its kDevices member, or CPU only.
template <typename T, typename = void>
struct LayerDevicesOf {
  static constexpr unsigned value = kLayerCpu;
};
template <typename T>
struct LayerDevicesOf<T, std::void_t<decltype(T::kDevices)>> {
  static constexpr unsigned value = T::kDevices;
};

class LayerRegistry {
 public:
  using Creator = std::unique_ptr<Layer> (*)(const caffe::LayerParameter&);

  // CUDA flags are dropped in builds without the CUDA backend.
  static void Add(const std::string& type, Creator creator, unsigned devices);
  // Throws Error naming the type and the closest registered names.
  // The layer comes with its type's device flags set.
  static std::unique_ptr<Layer> Create(const caffe::LayerParameter& param);
  static bool Has(const std::string& type);
  static std::vector<std::string> Types();  // sorted
  static unsigned Devices(const std::string& type);
  // Registered names closest to `type` by edit distance, best first.
  static std::vector<std::string> Suggestions(const std::string& type);
};

// Every built-in layer file defines Register<Type>Layer() with this macro;
// src/layers/builtin_layers.cpp lists and calls them all, so a missing layer
// is a link error rather than a silently absent type.
#define CORTADO_REGISTER_LAYER(TypeName, Class)                             \
  void Register##TypeName##Layer() {                                        \
    ::cortado::LayerRegistry::Add(                                          \
        #TypeName,                                                          \
        [](const caffe::LayerParameter& p) -> std::unique_ptr<::cortado::Layer> { \
          return std::make_unique<Class>(p);                                \
        },                                                                  \
        ::cortado::LayerDevicesOf<Class>::value);                           \
  }

}  // namespace cortado

#endif  // CORTADO_LAYER_REGISTRY_HPP_
