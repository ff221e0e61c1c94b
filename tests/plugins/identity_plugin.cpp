// A minimal plugin for plugin_loader_test: the layer type "PluginIdentity",
// which copies its bottom to its top.
#include <algorithm>

#include "cortado/plugin.hpp"

namespace {

class PluginIdentityLayer : public cortado::Layer {
 public:
  using Layer::Layer;
  const char* type() const override { return "PluginIdentity"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }
  void Reshape(const cortado::BlobVec& bottom, const cortado::BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const cortado::BlobVec& bottom, const cortado::BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    std::copy(x, x + bottom[0]->count(), top[0]->mutable_cpu_data());
  }
};

CORTADO_REGISTER_LAYER(PluginIdentity, PluginIdentityLayer)

}  // namespace

CORTADO_PLUGIN_ENTRY { RegisterPluginIdentityLayer(); }
