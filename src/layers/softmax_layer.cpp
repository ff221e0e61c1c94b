// Softmax along one axis: y_c = exp(x_c) / sum_k exp(x_k).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/parallel.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// softmax_layer.cu
void SoftmaxForwardGpu(int64_t outer, int channels, int64_t inner, const float* x, float* y);
void SoftmaxBackwardGpu(int64_t outer, int channels, int64_t inner, const float* y,
                        const float* dy, float* dx);
#endif

namespace {

class SoftmaxLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Softmax"; }
  // Backward reads the output, not the input.
  bool BackwardReadsBottomData(int) const override { return false; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const int axis_param = layer_param_.softmax_param().axis();
    if (axis_param < -bottom[0]->num_axes() || axis_param >= bottom[0]->num_axes()) {
      ThrowError(ErrorPrefix(), "softmax_param.axis ", axis_param,
                 " is out of range for bottom of shape ", bottom[0]->shape_string());
    }
    const int axis = bottom[0]->CanonicalAxisIndex(axis_param);
    outer_ = bottom[0]->count(0, axis);
    channels_ = bottom[0]->shape(axis);
    inner_ = bottom[0]->count(axis + 1);
    top[0]->ReshapeLike(*bottom[0]);
  }

 protected:
  // Work is split into tiles of one outer index and up to kTile inner
  // positions; each tile walks channels in the outer loop so the inner loop
  // is contiguous, with its own running max and sum per position. Each x is
  // read before the same y is written: in-place safe.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x_all = bottom[0]->cpu_data();
    float* y_all = top[0]->mutable_cpu_data();
    const int channels = channels_;
    const int64_t stride = inner_;
    ForEachTile([=](int64_t base, int64_t width, float* scratch) {
      const float* x = x_all + base;
      float* y = y_all + base;
      std::copy(x, x + width, scratch);
      for (int c = 1; c < channels; ++c) {
        const float* xc = x + c * stride;
        for (int64_t i = 0; i < width; ++i) scratch[i] = std::max(scratch[i], xc[i]);
      }
      // Subtracting the max keeps exp from overflowing.
      for (int c = 0; c < channels; ++c) {
        const float* xc = x + c * stride;
        float* yc = y + c * stride;
        for (int64_t i = 0; i < width; ++i) yc[i] = std::exp(xc[i] - scratch[i]);
      }
      std::fill_n(scratch, width, 0.f);
      for (int c = 0; c < channels; ++c) {
        const float* yc = y + c * stride;
        for (int64_t i = 0; i < width; ++i) scratch[i] += yc[i];
      }
      for (int64_t i = 0; i < width; ++i) scratch[i] = 1.f / scratch[i];
      for (int c = 0; c < channels; ++c) {
        float* yc = y + c * stride;
        for (int64_t i = 0; i < width; ++i) yc[i] *= scratch[i];
      }
    });
  }

  // dx_c = y_c * (dy_c - sum_k dy_k y_k); reads only y, so in-place safe.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const float* y_all = top[0]->cpu_data();
    const float* dy_all = top[0]->cpu_diff();
    float* dx_all = bottom[0]->mutable_cpu_diff();
    const int channels = channels_;
    const int64_t stride = inner_;
    ForEachTile([=](int64_t base, int64_t width, float* dot) {
      const float* y = y_all + base;
      const float* dy = dy_all + base;
      float* dx = dx_all + base;
      std::fill_n(dot, width, 0.f);
      for (int c = 0; c < channels; ++c) {
        for (int64_t i = 0; i < width; ++i) dot[i] += dy[c * stride + i] * y[c * stride + i];
      }
      for (int c = 0; c < channels; ++c) {
        for (int64_t i = 0; i < width; ++i) {
          const int64_t k = c * stride + i;
          dx[k] = y[k] * (dy[k] - dot[i]);
        }
      }
    });
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    SoftmaxForwardGpu(outer_, channels_, inner_, bottom[0]->gpu_data(),
                      top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    SoftmaxBackwardGpu(outer_, channels_, inner_, top[0]->gpu_data(), top[0]->gpu_diff(),
                       bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  int64_t outer_ = 0;
  int channels_ = 0;
  int64_t inner_ = 0;

  // Positions per tile: enough for a vectorised inner loop, few enough that
  // a segmentation map (outer 1, inner large) still splits across threads.
  static constexpr int64_t kTile = 4096;

  // Calls tile(base, width, scratch) for every (outer index, inner range)
  // tile on the process's threads; base is the offset of the tile's channel
  // 0, and scratch holds `width` floats of the calling thread's own.
  template <typename Tile>
  void ForEachTile(const Tile& tile) const {
    const int64_t inner = inner_, channels = channels_;
    const int64_t tiles_per_outer = (inner + kTile - 1) / kTile;
    ParallelForRows(outer_ * tiles_per_outer, channels * std::min(inner, kTile),
                    [&](int64_t t0, int64_t t1) {
                      std::vector<float> scratch(std::min(inner, kTile));
                      for (int64_t t = t0; t < t1; ++t) {
                        const int64_t o = t / tiles_per_outer;
                        const int64_t i0 = (t % tiles_per_outer) * kTile;
                        tile(o * channels * inner + i0, std::min(kTile, inner - i0),
                             scratch.data());
                      }
                    });
  }
};

}  // namespace

CORTADO_REGISTER_LAYER(Softmax, SoftmaxLayer)

}  // namespace cortado
