// Tells the layer registry which plugin the types registered now come from.
#ifndef CORTADO_LAYER_ORIGIN_HPP_
#define CORTADO_LAYER_ORIGIN_HPP_

#include <string>

namespace cortado {

// While one lives, LayerRegistry::Add records new types as coming from
// `origin` (a plugin's path) instead of "built-in". The plugin loader holds
// its own lock around it, so only one plugin registers at a time.
class ScopedLayerOrigin {
 public:
  explicit ScopedLayerOrigin(const std::string& origin);
  ~ScopedLayerOrigin();
  ScopedLayerOrigin(const ScopedLayerOrigin&) = delete;
  ScopedLayerOrigin& operator=(const ScopedLayerOrigin&) = delete;

 private:
  std::string previous_;
};

}  // namespace cortado

#endif  // CORTADO_LAYER_ORIGIN_HPP_
