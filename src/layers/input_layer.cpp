// Input: tops whose shapes come from input_param; the net (or the caller)
// writes their data, so Forward and Backward do nothing.
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class InputLayer : public Layer {
 public:
  using Layer::Layer;
  // Nothing to compute on either device: the inherited ForwardGpu runs the
  // empty ForwardImpl.
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Input"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int MinTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::InputParameter& param = layer_param_.input_param();
    const int num_shapes = param.shape_size();
    const int num_tops = static_cast<int>(top.size());
    // No shape leaves the tops as the caller shaped them (Python, tests).
    if (num_shapes != 0 && num_shapes != 1 && num_shapes != num_tops) {
      ThrowError(ErrorPrefix(), "input_param has ", num_shapes, " shape(s) for ", num_tops,
                 " top(s); give one shape, or one per top");
    }
    for (int i = 0; i < num_shapes; ++i) {
      for (int d = 0; d < param.shape(i).dim_size(); ++d) {
        if (param.shape(i).dim(d) < 0) {
          ThrowError(ErrorPrefix(), "input_param.shape[", i, "] has negative dimension ",
                     param.shape(i).dim(d), " at axis ", d);
        }
      }
    }
    for (int i = 0; i < num_shapes && i < num_tops; ++i) top[i]->Reshape(param.shape(i));
    if (num_shapes == 1) {
      for (int i = 1; i < num_tops; ++i) top[i]->Reshape(param.shape(0));
    }
  }

  // Shapes are fixed at set-up; a caller may reshape the tops later.
  void Reshape(const BlobVec& bottom, const BlobVec& top) override {}

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {}
};

}  // namespace

CORTADO_REGISTER_LAYER(Input, InputLayer)

}  // namespace cortado
