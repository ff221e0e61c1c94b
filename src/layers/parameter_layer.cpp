// Parameter: a learnable blob offered as the layer's only top, for nets
// that need a parameter as an ordinary input to another layer.
#include <memory>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class ParameterLayer : public Layer {
 public:
  using Layer::Layer;
  // A view: Forward and Backward touch no data, so nothing differs on CUDA.
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Parameter"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int ExactNumTopBlobs() const override { return 1; }

  // No filler, as in BVLC: the blob starts at zero until weights are loaded.
  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    Blob wanted;
    wanted.Reshape(layer_param_.parameter_param().shape());
    if (!blobs_.empty()) {
      if (blobs_.size() != 1 || blobs_[0]->shape() != wanted.shape()) {
        ThrowError(ErrorPrefix(), "expects one parameter blob of shape ",
                   wanted.shape_string(), " (parameter_param.shape), got ", blobs_.size(),
                   " blob(s) of shape ", blobs_[0]->shape_string());
      }
      return;
    }
    blobs_.push_back(std::make_unique<Blob>(wanted.shape()));
  }

  // The top is a view of the parameter: its diff is the parameter's gradient.
  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*blobs_[0]);
    top[0]->ShareData(*blobs_[0]);
    top[0]->ShareDiff(*blobs_[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {}
};

}  // namespace

CORTADO_REGISTER_LAYER(Parameter, ParameterLayer)

}  // namespace cortado
