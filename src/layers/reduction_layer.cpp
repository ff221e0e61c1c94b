// Reduction: collapses all axes from `axis` on with SUM, ASUM (sum of
// absolute values), SUMSQ (sum of squares) or MEAN, times coeff.
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "layer_axis.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// reduction_layer.cu; op is the ReductionOp value (its constants mirror it).
void ReductionForwardGpu(int64_t rows, int64_t dim, int op, float coeff, const float* x,
                         float* y);
void ReductionBackwardGpu(int64_t rows, int64_t dim, int op, float coeff, const float* x,
                          const float* dy, float* dx);
static_assert(caffe::ReductionParameter::SUM == 1 && caffe::ReductionParameter::ASUM == 2 &&
                  caffe::ReductionParameter::SUMSQ == 3,
              "reduction_layer.cu's op constants");
#endif

namespace {

using Op = caffe::ReductionParameter::ReductionOp;

class ReductionLayer : public Layer {
 public:
  using Layer::Layer;
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;

  const char* type() const override { return "Reduction"; }
  int ExactNumBottomBlobs() const override { return 1; }
  int ExactNumTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    op_ = layer_param_.reduction_param().operation();
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (top[0] == bottom[0]) {
      ThrowError(ErrorPrefix(), "cannot run in place; give the top its own name");
    }
    const Blob& in = *bottom[0];
    const int axis = CanonicalAxisOrThrow(in, layer_param_.reduction_param().axis(),
                                          ErrorPrefix(), "reduction_param.axis");
    // The top keeps the axes before `axis`: a scalar for axis 0.
    top[0]->Reshape(std::vector<int>(in.shape().begin(), in.shape().begin() + axis));
    rows_ = in.count(0, axis);
    dim_ = in.count(axis);
    coeff_ = layer_param_.reduction_param().coeff();
    if (op_ == caffe::ReductionParameter::MEAN && dim_ > 0) coeff_ /= static_cast<float>(dim_);
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const float* x = bottom[0]->cpu_data();
    float* y = top[0]->mutable_cpu_data();
    const int64_t dim = dim_;
    for (int64_t r = 0; r < rows_; ++r) {
      const float* xr = x + r * dim;
      float sum = 0;
      switch (op_) {
        case caffe::ReductionParameter::SUM:
        case caffe::ReductionParameter::MEAN:
          for (int64_t i = 0; i < dim; ++i) sum += xr[i];
          break;
        case caffe::ReductionParameter::ASUM:
          for (int64_t i = 0; i < dim; ++i) sum += std::fabs(xr[i]);
          break;
        case caffe::ReductionParameter::SUMSQ:
          for (int64_t i = 0; i < dim; ++i) sum += xr[i] * xr[i];
          break;
      }
      y[r] = coeff_ * sum;
    }
  }

  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    const float* x = bottom[0]->cpu_data();
    const float* dy = top[0]->cpu_diff();
    float* dx = bottom[0]->mutable_cpu_diff();
    const int64_t dim = dim_;
    for (int64_t r = 0; r < rows_; ++r) {
      const float* xr = x + r * dim;
      float* dxr = dx + r * dim;
      const float g = coeff_ * dy[r];
      switch (op_) {
        case caffe::ReductionParameter::SUM:
        case caffe::ReductionParameter::MEAN:
          for (int64_t i = 0; i < dim; ++i) dxr[i] = g;
          break;
        case caffe::ReductionParameter::ASUM:
          for (int64_t i = 0; i < dim; ++i) dxr[i] = xr[i] > 0 ? g : (xr[i] < 0 ? -g : 0.f);
          break;
        case caffe::ReductionParameter::SUMSQ:
          for (int64_t i = 0; i < dim; ++i) dxr[i] = 2.f * g * xr[i];
          break;
      }
    }
  }

#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override {
    ReductionForwardGpu(rows_, dim_, static_cast<int>(op_), coeff_, bottom[0]->gpu_data(),
                        top[0]->mutable_gpu_data());
  }

  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override {
    if (!propagate_down[0]) return;
    ReductionBackwardGpu(rows_, dim_, static_cast<int>(op_), coeff_, bottom[0]->gpu_data(),
                         top[0]->gpu_diff(), bottom[0]->mutable_gpu_diff());
  }
#endif

 private:
  Op op_ = caffe::ReductionParameter::SUM;
  float coeff_ = 1;  // divided by dim_ for MEAN
  int64_t rows_ = 0;
  int64_t dim_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(Reduction, ReductionLayer)

}  // namespace cortado
