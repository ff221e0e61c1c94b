// ShuffleChannel (ShuffleNet): views the channels as a groups x (C / groups)
// matrix and transposes it, so grouped convolutions that follow see
// channels from every group.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "shuffle_channel_math.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// shuffle_channel_layer.cu: y = Shuffle(x) for num x channels x inner blobs.
void ShuffleChannelGpu(int num, int channels, int64_t inner, int groups, const float* x,
                       float* y);
#endif

namespace {

class ShuffleChannelLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "ShuffleChannel"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    group_ = static_cast<int>(layer_param_.shuffle_channel_param().group());
    if (group_ <= 0) {
      ThrowError(ErrorPrefix(), "shuffle_channel_param.group must be positive, got ", group_);
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    const Blob& in = *bottom[0];
    if (in.num_axes() < 2 || in.shape(1) % group_ != 0) {
      ThrowError(ErrorPrefix(), "channels of bottom ", in.shape_string(),
                 " must be divisible by shuffle_channel_param.group ", group_);
    }
    top[0]->ReshapeLike(in);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    Shuffle(bottom[0]->cpu_data(), top[0]->mutable_cpu_data(), *bottom[0], group_);
  }

  // The inverse of a (g x k) transpose is the (k x g) transpose.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int channels = bottom[0]->shape(1);
    Shuffle(top[0]->cpu_diff(), bottom[0]->mutable_cpu_diff(), *bottom[0], channels / group_);
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    ShuffleChannelGpu(in.shape(0), in.shape(1), in.count(2), group_, in.gpu_data(),
                      top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const Blob& in = *bottom[0];
    ShuffleChannelGpu(in.shape(0), in.shape(1), in.count(2), in.shape(1) / group_,
                      top[0]->gpu_diff(), bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  static void Shuffle(const float* x, float* y, const Blob& shape, int groups) {
    const int num = shape.shape(0);
    const int channels = shape.shape(1);
    const int64_t inner = shape.count(2);
    for (int n = 0; n < num; ++n) {
      const float* xn = x + static_cast<int64_t>(n) * channels * inner;
      float* yn = y + static_cast<int64_t>(n) * channels * inner;
      for (int c = 0; c < channels; ++c) {
        Copy(inner, xn + static_cast<int64_t>(ShuffleSourceChannel(c, channels, groups)) * inner,
             yn + static_cast<int64_t>(c) * inner);
      }
    }
  }

  int group_ = 1;
};

}  // namespace

CORTADO_REGISTER_LAYER(ShuffleChannel, ShuffleChannelLayer)

}  // namespace cortado
