// Flatten: merges axes [axis, end_axis] into one; the top is a view of the
// bottom (shared data and diff), so Forward and Backward copy nothing.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class FlattenLayer : public Layer {
 public:
  using Layer::Layer;
  // A view: Forward and Backward touch no data, so nothing differs on CUDA.
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Flatten"; }
  // Backward moves diffs only.
  bool BackwardReadsBottomData(int) const override { return false; }
  bool BackwardReadsTopData(int) const override { return false; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    const caffe::FlattenParameter& param = layer_param_.flatten_param();
    const Blob& in = *bottom[0];
    const int axes = in.num_axes();
    auto canonical = [&](int axis, const char* field) {
      if (axis < -axes || axis >= axes) {
        ThrowError(ErrorPrefix(), "flatten_param.", field, " ", axis,
                   " is out of range for bottom of shape ", in.shape_string());
      }
      return axis < 0 ? axis + axes : axis;
    };
    const int start = canonical(param.axis(), "axis");
    const int end = canonical(param.end_axis(), "end_axis");
    if (end < start) {
      ThrowError(ErrorPrefix(), "flatten_param.end_axis (", end,
                 ") comes before flatten_param.axis (", start, ")");
    }
    std::vector<int> shape(in.shape().begin(), in.shape().begin() + start);
    shape.push_back(static_cast<int>(in.count(start, end + 1)));
    shape.insert(shape.end(), in.shape().begin() + end + 1, in.shape().end());
    top[0]->Reshape(shape);
    top[0]->ShareData(in);
    top[0]->ShareDiff(in);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {}
  // The shared diff already is the bottom's gradient.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {}
};

}  // namespace

CORTADO_REGISTER_LAYER(Flatten, FlattenLayer)

}  // namespace cortado
