// Clip: y = min(max(x, min), max).
#include <algorithm>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class ClipLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "Clip"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    if (!layer_param_.has_clip_param()) {
      ThrowError(ErrorPrefix(), "needs clip_param { min: ... max: ... }");
    }
    min_ = layer_param_.clip_param().min();
    max_ = layer_param_.clip_param().max();
    if (min_ > max_) {
      ThrowError(ErrorPrefix(), "clip_param.min ", min_, " is greater than clip_param.max ",
                 max_);
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const float lo = min_, hi = max_;
    for (int64_t i = 0; i < n; ++i) y[i] = std::max(lo, std::min(x[i], hi));
  }

  // The gradient passes where x lies in [min, max], bounds included.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    // In place every y lies in [min, max]: which x were clipped is lost.
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot back-propagate in place; give the layer its own top");
    }
    const int64_t n = bottom[0]->count();
    const float* x = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const float lo = min_, hi = max_;
    for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.f;
  }

 private:
  float min_ = 0;
  float max_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(Clip, ClipLayer)

}  // namespace cortado
