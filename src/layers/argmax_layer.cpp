// ArgMax: the indices (and optionally the values) of the top_k largest
// entries, along an axis or over all of each item's values. Forward only.
#include <algorithm>
#include <utility>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "layer_axis.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// argmax_layer.cu
void ArgMaxForwardGpu(int64_t vectors, int dim, int64_t inner, int top_k, bool out_max_val,
                      bool has_axis, const float* x, float* y);
#endif

namespace {

class ArgMaxLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "ArgMax"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::ArgMaxParameter& p = layer_param_.argmax_param();
    out_max_val_ = p.out_max_val();
    top_k_ = static_cast<int>(p.top_k());
    has_axis_ = p.has_axis();
    if (top_k_ < 1) ThrowError(ErrorPrefix(), "argmax_param.top_k must be at least 1");
  }

  // Without an axis, each item (axis 0) is one vector and the top is
  // (N, 1, top_k), or (N, 2, top_k) holding indices then values.
  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    std::vector<int> shape;
    if (has_axis_) {
      axis_ = CanonicalAxisOrThrow(in, layer_param_.argmax_param().axis(), ErrorPrefix(),
                                   "argmax_param.axis");
      dim_ = in.shape(axis_);
      inner_ = in.count(axis_ + 1);
      shape = in.shape();
      shape[axis_] = top_k_;
    } else {
      if (in.num_axes() < 1) ThrowError(ErrorPrefix(), "needs a bottom with at least one axis");
      dim_ = static_cast<int>(in.count(1));
      inner_ = 1;
      shape.assign(std::max(in.num_axes(), 3), 1);
      shape[0] = in.shape(0);
      shape[2] = top_k_;
      if (out_max_val_) shape[1] = 2;
    }
    if (top_k_ > dim_) {
      ThrowError(ErrorPrefix(), "argmax_param.top_k ", top_k_, " exceeds the ", dim_,
                 " values it chooses from in bottom ", in.shape_string());
    }
    top[0]->Reshape(shape);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const int64_t vectors = bottom[0]->count() / dim_;
    const int64_t inner = inner_;
    std::vector<std::pair<float, int>> entries(dim_);
    // Largest value first; among equal values the larger index first.
    auto greater = [](const std::pair<float, int>& a, const std::pair<float, int>& b) {
      return a.first > b.first || (a.first == b.first && a.second > b.second);
    };
    for (int64_t v = 0; v < vectors; ++v) {
      const int64_t outer = v / inner, i = v % inner;
      const float* column = x + outer * dim_ * inner + i;
      for (int j = 0; j < dim_; ++j) entries[j] = {column[j * inner], j};
      std::partial_sort(entries.begin(), entries.begin() + top_k_, entries.end(), greater);
      for (int k = 0; k < top_k_; ++k) {
        if (has_axis_) {
          const int64_t at = (outer * top_k_ + k) * inner + i;
          y[at] = out_max_val_ ? entries[k].first : static_cast<float>(entries[k].second);
        } else if (out_max_val_) {
          y[2 * v * top_k_ + k] = static_cast<float>(entries[k].second);
          y[2 * v * top_k_ + top_k_ + k] = entries[k].first;
        } else {
          y[v * top_k_ + k] = static_cast<float>(entries[k].second);
        }
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    ArgMaxForwardGpu(bottom[0]->count() / dim_, dim_, inner_, top_k_, out_max_val_, has_axis_,
                     bottom[0]->gpu_data(), top[0]->mutable_gpu_data());
  }
#endif

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (propagate_down[0]) {
      ThrowError(ErrorPrefix(), "has no backward pass; keep it out of the gradient path");
    }
  }

 private:
  bool out_max_val_ = false;
  bool has_axis_ = false;
  int top_k_ = 1;
  int axis_ = 0;
  int dim_ = 1;
  int64_t inner_ = 1;
};

}  // namespace

CORTADO_REGISTER_LAYER(ArgMax, ArgMaxLayer)

}  // namespace cortado
