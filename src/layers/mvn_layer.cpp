// MVN: mean-variance normalisation of each item's channels (or of each item
// across channels): y = (x - mean) / (std + eps), or just x - mean.
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "../util/channel_sum_gpu.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// mvn_layer.cu
void MvnCenterGpu(int64_t rows, int64_t dim, const float* x, const float* sum, float* y);
void MvnNormalizeGpu(int64_t rows, int64_t dim, const float* squares, float eps, float* stddev,
                     float* y);
void MvnBackwardGpu(int64_t rows, int64_t dim, const float* y, const float* dy,
                    const float* dy_sum, const float* ydy_sum, const float* stddev, float eps,
                    float* dx);
#endif

namespace {

class MvnLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "MVN"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::MVNParameter& p = layer_param_.mvn_param();
    normalize_variance_ = p.normalize_variance();
    across_channels_ = p.across_channels();
    eps_ = p.eps();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& in = *bottom[0];
    top[0]->ReshapeLike(in);
    rows_ = across_channels_ ? in.num() : int64_t(in.num()) * in.channels();
    dim_ = rows_ == 0 ? 0 : in.count() / rows_;
    stddev_.assign(rows_, 0.f);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const int64_t dim = dim_;
    for (int64_t r = 0; r < rows_; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      double sum = 0;
      for (int64_t i = 0; i < dim; ++i) sum += xr[i];
      const float mean = static_cast<float>(sum / dim);
      for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] - mean;
      if (!normalize_variance_) continue;
      // The variance of the centred values, E[(x - mean)^2], which does not
      // cancel catastrophically the way E[x^2] - mean^2 can.
      double squares = 0;
      for (int64_t i = 0; i < dim; ++i) squares += double(yr[i]) * yr[i];
      stddev_[r] = std::sqrt(static_cast<float>(squares / dim));
      const float divisor = stddev_[r] + eps_;
      for (int64_t i = 0; i < dim; ++i) yr[i] /= divisor;
    }
  }

  // With variance: dx = (dy - mean(dy) - y * mean(y * dy) * (std + eps) / std)
  // / (std + eps); without: dx = dy - mean(dy). Reads only y, so it works in
  // place. BVLC drops the factor (std + eps) / std, which is 1 to float
  // precision at the default eps but not for a large one; this is the exact
  // gradient, so the gradient check holds for any eps.
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const float* y = top[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const int64_t dim = dim_;
    for (int64_t r = 0; r < rows_; ++r) {
      const float* yr = y + r * dim;
      const float* dyr = dy + r * dim;
      float* dxr = dx + r * dim;
      double dy_sum = 0, ydy_sum = 0;
      for (int64_t i = 0; i < dim; ++i) {
        dy_sum += dyr[i];
        ydy_sum += double(yr[i]) * dyr[i];
      }
      const float dy_mean = static_cast<float>(dy_sum / dim);
      if (!normalize_variance_) {
        for (int64_t i = 0; i < dim; ++i) dxr[i] = dyr[i] - dy_mean;
        continue;
      }
      // A constant row has y = 0 and std = 0: the term vanishes.
      const float divisor = stddev_[r] + eps_;
      const float ydy_mean =
          stddev_[r] > 0 ? static_cast<float>(ydy_sum / dim) * divisor / stddev_[r] : 0.f;
      const float inv_stddev = 1.f / divisor;
      for (int64_t i = 0; i < dim; ++i) {
        dxr[i] = (dyr[i] - dy_mean - yr[i] * ydy_mean) * inv_stddev;
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  // Rows are vectors of dim_ contiguous values: ChannelSumGpu with one
  // outer item sums each. row_stats_ holds per-row sums (rows 0, 1) and
  // the standard deviation (row 2).
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    row_stats_.Reshape(std::vector<int>{3, static_cast<int>(rows_)});
    float* sum = row_stats_.mutable_gpu_data();
    float* squares = sum + rows_;
    float* stddev = sum + 2 * rows_;
    float* y = top[0]->mutable_gpu_data();
    ChannelSumGpu(1, rows_, dim_, bottom[0]->gpu_data(), nullptr, 0.f, sum);
    MvnCenterGpu(rows_, dim_, bottom[0]->gpu_data(), sum, y);
    if (!normalize_variance_) return;
    ChannelSumGpu(1, rows_, dim_, y, y, 0.f, squares);
    MvnNormalizeGpu(rows_, dim_, squares, eps_, stddev, y);
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const float* y = top[0]->gpu_data();
    const float* dy = top[0]->gpu_diff();
    float* stats = row_stats_.mutable_gpu_data();
    float* dy_sum = stats;
    float* ydy_sum = stats + rows_;
    const float* stddev = normalize_variance_ ? stats + 2 * rows_ : nullptr;
    ChannelSumGpu(1, rows_, dim_, dy, nullptr, 0.f, dy_sum);
    ChannelSumGpu(1, rows_, dim_, y, dy, 0.f, ydy_sum);
    MvnBackwardGpu(rows_, dim_, y, dy, dy_sum, ydy_sum, stddev, eps_,
                   bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  bool normalize_variance_ = true;
  bool across_channels_ = false;
  float eps_ = 1e-9f;
  int64_t rows_ = 0;  // vectors normalised independently
  int64_t dim_ = 0;   // values per vector
  std::vector<float> stddev_;  // per vector, without eps, for the backward pass
  Blob row_stats_;             // CUDA path: per-row sums and stddev
};

}  // namespace

CORTADO_REGISTER_LAYER(MVN, MvnLayer)

}  // namespace cortado
