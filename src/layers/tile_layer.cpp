// Tile: repeats the bottom `tiles` times along one axis.
#include <limits>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "layer_axis.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// tile_layer.cu
void TileForwardGpu(int64_t bottom_count, const float* x, int tiles, int64_t inner, float* y);
void TileBackwardGpu(int64_t bottom_count, const float* dy, int tiles, int64_t inner,
                     float* dx);
#endif

namespace {

class TileLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Tile"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    tiles_ = layer_param_.tile_param().tiles();
    if (tiles_ <= 0) {
      ThrowError(ErrorPrefix(), "tile_param.tiles must be positive, got ", tiles_);
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    const Blob& in = *bottom[0];
    axis_ = CanonicalAxisOrThrow(in, layer_param_.tile_param().axis(), ErrorPrefix(),
                                 "tile_param.axis");
    std::vector<int> shape = in.shape();
    const int64_t tiled = int64_t(shape[axis_]) * tiles_;  // 64 bits: cannot overflow
    if (tiled > std::numeric_limits<int>::max()) {
      ThrowError(ErrorPrefix(), "tile_param.tiles ", tiles_, " times axis ", axis_, " (size ",
                 shape[axis_], ") would be ", tiled, ", more than ",
                 std::numeric_limits<int>::max());
    }
    shape[axis_] = static_cast<int>(tiled);
    top[0]->Reshape(shape);
  }

 protected:
  // Each block of count(axis) values is written `tiles` times in a row.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int64_t outer = bottom[0]->count(0, axis_);
    const int64_t inner = bottom[0]->count(axis_);
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    for (int64_t o = 0; o < outer; ++o) {
      for (int t = 0; t < tiles_; ++t) Copy(inner, x + o * inner, y + (o * tiles_ + t) * inner);
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int64_t outer = bottom[0]->count(0, axis_);
    const int64_t inner = bottom[0]->count(axis_);
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    for (int64_t o = 0; o < outer; ++o) {
      float* block = dx + o * inner;
      Copy(inner, dy + o * tiles_ * inner, block);
      for (int t = 1; t < tiles_; ++t) Axpy(inner, 1.f, dy + (o * tiles_ + t) * inner, block);
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    TileForwardGpu(bottom[0]->count(), bottom[0]->gpu_data(), tiles_, bottom[0]->count(axis_),
                   top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    TileBackwardGpu(bottom[0]->count(), top[0]->gpu_diff(), tiles_, bottom[0]->count(axis_),
                    bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  int tiles_ = 1;
  int axis_ = 1;
};

}  // namespace

CORTADO_REGISTER_LAYER(Tile, TileLayer)

}  // namespace cortado
