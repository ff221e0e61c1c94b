// SPP: spatial pyramid pooling. Level l pools the input into 2^l x 2^l bins
// with an inner Pooling layer; the levels are flattened and concatenated, so
// any input size gives the same output length.
#include <cmath>
#include <memory>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "../util/copy_rows_gpu.hpp"

namespace cortado {
namespace {

class SppLayer : public Layer {
 public:
  using Layer::Layer;
  // Its inner Pooling layers run on CUDA, so all of its work does.
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "SPP"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::SPPParameter& p = layer_param_.spp_param();
    if (!p.has_pyramid_height() || p.pyramid_height() == 0) {
      ThrowError(ErrorPrefix(), "spp_param.pyramid_height must be positive");
    }
    if (p.pyramid_height() > 16) {
      ThrowError(ErrorPrefix(), "spp_param.pyramid_height ", p.pyramid_height(),
                 " asks for 2^", p.pyramid_height() - 1, " bins per side; at most 16 levels");
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    if (in.num_axes() != 4) {
      ThrowError(ErrorPrefix(), "needs a 4-D bottom (num, channels, height, width), got ",
                 in.shape_string());
    }
    // The pooling windows depend on the input size: rebuild them when it changes.
    if (in.shape() != built_for_) BuildLevels(in);
    int64_t length = 0;
    for (auto& level : levels_) {
      level->pooling->Reshape({bottom[0]}, {&level->pooled});
      level->offset = length;
      length += level->pooled.count(1);
    }
    top[0]->Reshape({in.shape(0), static_cast<int>(length)});
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const int num = bottom[0]->shape(0);
    const int64_t length = top[0]->count(1);
    float* out = top[0]->mutable_cpu_data();
    for (auto& level : levels_) {
      level->pooling->Forward({bottom[0]}, {&level->pooled});
      const int64_t size = level->pooled.count(1);
      for (int n = 0; n < num; ++n) {
        Copy(size, level->pooled.cpu_data() + n * size, out + n * length + level->offset);
      }
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int num = bottom[0]->shape(0);
    const int64_t length = top[0]->count(1);
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    Set(bottom[0]->count(), 0.f, dx);
    // Each level writes its own input gradient; the levels' gradients add.
    level_input_.ReshapeLike(*bottom[0]);
    level_input_.ShareData(*bottom[0]);
    for (auto& level : levels_) {
      const int64_t size = level->pooled.count(1);
      for (int n = 0; n < num; ++n) {
        Copy(size, dy + n * length + level->offset, level->pooled.mutable_cpu_diff() + n * size);
      }
      level->pooling->Backward({&level->pooled}, {true}, {&level_input_});
      Axpy(bottom[0]->count(), 1.f, level_input_.cpu_diff(), dx);
    }
  }

  void OnDeviceSet() override {
    for (auto& level : levels_) level->pooling->SetDevice(device_);
  }

#ifdef CORTADO_WITH_CUDA
  // The CPU passes with the row copies as strided device copies.
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    const int num = bottom[0]->shape(0);
    const int64_t length = top[0]->count(1);
    float* out = top[0]->mutable_gpu_data();
    for (auto& level : levels_) {
      level->pooling->Forward({bottom[0]}, {&level->pooled});
      const int64_t size = level->pooled.count(1);
      CopyRowsGpu(num, size, level->pooled.gpu_data(), size, out + level->offset, length);
    }
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const int num = bottom[0]->shape(0);
    const int64_t length = top[0]->count(1);
    const float* dy = top[0]->gpu_diff();
    float* dx = bottom[0]->mutable_gpu_diff();
    gpu::Set(bottom[0]->count(), 0.f, dx);
    level_input_.ReshapeLike(*bottom[0]);
    level_input_.ShareData(*bottom[0]);
    for (auto& level : levels_) {
      const int64_t size = level->pooled.count(1);
      CopyRowsGpu(num, size, dy + level->offset, length, level->pooled.mutable_gpu_diff(), size);
      level->pooling->Backward({&level->pooled}, {true}, {&level_input_});
      gpu::Axpy(bottom[0]->count(), 1.f, level_input_.gpu_diff(), dx);
    }
  }
#endif

 private:
  struct Level {
    std::unique_ptr<Layer> pooling;
    Blob pooled;
    int64_t offset = 0;  // where this level starts in a top row
  };

  // Level l: 2^l bins per side, each a window of ceil(size / bins) with the
  // remainder split as padding, so the bins tile the input.
  void BuildLevels(const Blob& in) {
    const caffe::SPPParameter& p = layer_param_.spp_param();
    const int height = in.shape(2);
    const int width = in.shape(3);
    levels_.clear();
    for (unsigned l = 0; l < p.pyramid_height(); ++l) {
      const int bins = 1 << l;
      const int kernel_h = (height + bins - 1) / bins;
      const int kernel_w = (width + bins - 1) / bins;
      caffe::LayerParameter pool;
      pool.set_name(StrCat(name(), "_level", l));
      pool.set_type("Pooling");
      pool.set_phase(phase_);
      caffe::PoolingParameter* pp = pool.mutable_pooling_param();
      pp->set_pool(static_cast<caffe::PoolingParameter::PoolMethod>(p.pool()));
      pp->set_kernel_h(kernel_h);
      pp->set_kernel_w(kernel_w);
      pp->set_stride_h(kernel_h);
      pp->set_stride_w(kernel_w);
      pp->set_pad_h((kernel_h * bins - height + 1) / 2);
      pp->set_pad_w((kernel_w * bins - width + 1) / 2);
      auto level = std::make_unique<Level>();
      try {
        level->pooling = LayerRegistry::Create(pool);
        Blob* input = const_cast<Blob*>(&in);
        level->pooling->SetUp({input}, {&level->pooled});
        level->pooling->SetDevice(device_);
      } catch (const Error& e) {
        ThrowError(ErrorPrefix(), "pyramid level ", l, " (", bins, "x", bins,
                   " bins) does not fit the input ", in.shape_string(), ": ", e.what());
      }
      levels_.push_back(std::move(level));
    }
    built_for_ = in.shape();
  }

  std::vector<std::unique_ptr<Level>> levels_;
  std::vector<int> built_for_;
  Blob level_input_;  // the bottom's data with a diff of its own
};

}  // namespace

CORTADO_REGISTER_LAYER(SPP, SppLayer)

}  // namespace cortado
