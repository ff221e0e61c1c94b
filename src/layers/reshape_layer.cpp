// Reshape: gives the bottom a new shape without copying; reshape_param.shape
// replaces axes [axis, axis + num_axes), where 0 copies the bottom's dim and
// -1 is inferred from the count.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class ReshapeLayer : public Layer {
 public:
  using Layer::Layer;
  // A view: Forward and Backward touch no data, so nothing differs on CUDA.
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Reshape"; }
  // Backward moves diffs only.
  bool BackwardReadsBottomData(int) const override { return false; }
  bool BackwardReadsTopData(int) const override { return false; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::BlobShape& shape = layer_param_.reshape_param().shape();
    for (int i = 0; i < shape.dim_size(); ++i) {
      const int64_t dim = shape.dim(i);
      if (dim == -1) {
        if (inferred_index_ >= 0) {
          ThrowError(ErrorPrefix(), "reshape_param.shape may infer (-1) only one dim; dims ",
                     inferred_index_, " and ", i, " are both -1");
        }
        inferred_index_ = i;
      } else if (dim < -1) {
        ThrowError(ErrorPrefix(), "reshape_param.shape dim ", i, " is ", dim,
                   "; use a positive size, 0 (copy) or -1 (infer)");
      }
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    const caffe::ReshapeParameter& param = layer_param_.reshape_param();
    const caffe::BlobShape& spec = param.shape();
    const Blob& in = *bottom[0];
    const int in_axes = in.num_axes();
    // axis counts from the end as -1 = "after the last axis".
    const int start = param.axis() >= 0 ? param.axis() : in_axes + param.axis() + 1;
    if (start < 0 || start > in_axes) {
      ThrowError(ErrorPrefix(), "reshape_param.axis ", param.axis(),
                 " is out of range for bottom of shape ", in.shape_string());
    }
    const int end = param.num_axes() == -1 ? in_axes : start + param.num_axes();
    if (param.num_axes() < -1 || end > in_axes) {
      ThrowError(ErrorPrefix(), "reshape_param.num_axes ", param.num_axes(),
                 " with axis ", param.axis(), " is out of range for bottom of shape ",
                 in.shape_string());
    }
    std::vector<int> shape(in.shape().begin(), in.shape().begin() + start);
    int64_t known = in.count(0, start) * in.count(end);
    for (int i = 0; i < spec.dim_size(); ++i) {
      int64_t dim = spec.dim(i);
      if (dim == 0) {
        if (start + i >= end) {
          ThrowError(ErrorPrefix(), "reshape_param.shape dim ", i,
                     " is 0 (copy) but the replaced range of bottom shape ",
                     in.shape_string(), " has no axis ", start + i);
        }
        dim = in.shape(start + i);
      }
      shape.push_back(static_cast<int>(dim));
      if (i != inferred_index_) known *= dim;
    }
    shape.insert(shape.end(), in.shape().begin() + end, in.shape().end());
    if (inferred_index_ >= 0) {
      if (known == 0 || in.count() % known != 0) {
        ThrowError(ErrorPrefix(), "cannot infer the -1 dim: bottom count ", in.count(),
                   " (shape ", in.shape_string(), ") is not a multiple of ", known);
      }
      shape[start + inferred_index_] = static_cast<int>(in.count() / known);
    }
    top[0]->Reshape(shape);
    if (top[0]->count() != in.count()) {
      ThrowError(ErrorPrefix(), "new shape ", top[0]->shape_string(),
                 " has a different count from bottom shape ", in.shape_string());
    }
    top[0]->ShareData(in);
    top[0]->ShareDiff(in);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {}
  // The shared diff already is the bottom's gradient.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {}

 private:
  int inferred_index_ = -1;
};

}  // namespace

CORTADO_REGISTER_LAYER(Reshape, ReshapeLayer)

}  // namespace cortado
