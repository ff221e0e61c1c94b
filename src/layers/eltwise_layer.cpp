// Eltwise: element-wise sum (with coefficients), product or maximum of bottoms.
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "cortado/parallel.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// eltwise_layer.cu
void EltwiseMaxForwardGpu(int64_t n, const float* const* bottoms, int num_bottoms, float* y,
                          float* index);
void EltwiseMaxBackwardGpu(int64_t n, const float* dy, const float* index, int which,
                           float* dx);
#endif

class EltwiseLayer : public Layer {
 public:
  explicit EltwiseLayer(const caffe::LayerParameter& param) : Layer(param) {}
  static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;
  const char* type() const override { return "Eltwise"; }
  int MinBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 1; }
  // A sum's backward scales diffs only; a product's reads every operand.
  bool BackwardReadsBottomData(int) const override {
    return op_ != caffe::EltwiseParameter::SUM;
  }
  bool BackwardReadsTopData(int) const override { return op_ != caffe::EltwiseParameter::SUM; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  void Reshape(const BlobVec& bottom, const BlobVec& top) override;

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                    const BlobVec& bottom) override;
#ifdef CORTADO_WITH_CUDA
  void ForwardGpu(const BlobVec& bottom, const BlobVec& top) override;
  void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                   const BlobVec& bottom) override;
#endif

 private:
  caffe::EltwiseParameter::EltwiseOp op_ = caffe::EltwiseParameter::SUM;
  std::vector<float> coeffs_;
  bool stable_prod_grad_ = true;
  // MAX: which bottom won each element, an internal blob placed by the
  // net's memory planner. The CPU stores ints in its bytes, the CUDA kernels
  // floats; forward and backward of one pass run on one device.
  Blob max_index_;
};

void EltwiseLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::EltwiseParameter& p = layer_param_.eltwise_param();
  DeclareInternalBlob(&max_index_);
  op_ = p.operation();
  stable_prod_grad_ = p.stable_prod_grad();
  if (p.coeff_size() > 0 && op_ != caffe::EltwiseParameter::SUM) {
    ThrowError(ErrorPrefix(), "coeff applies only to operation SUM");
  }
  if (p.coeff_size() > 0 && p.coeff_size() != static_cast<int>(bottom.size())) {
    ThrowError(ErrorPrefix(), "has ", p.coeff_size(), " coeff values for ", bottom.size(),
               " bottoms; give one per bottom or none");
  }
  coeffs_.assign(bottom.size(), 1.f);
  for (int i = 0; i < p.coeff_size(); ++i) coeffs_[i] = p.coeff(i);
}

void EltwiseLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  for (size_t i = 1; i < bottom.size(); ++i) {
    if (bottom[i]->shape() != bottom[0]->shape()) {
      ThrowError(ErrorPrefix(), "all bottoms must share one shape: bottom 0 is ",
                 bottom[0]->shape_string(), ", bottom ", i, " is ",
                 bottom[i]->shape_string());
    }
  }
  top[0]->ReshapeLike(*bottom[0]);
  max_index_.Reshape(op_ == caffe::EltwiseParameter::MAX ? bottom[0]->shape()
                                                          : std::vector<int>{0});
}

void EltwiseLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  const int64_t count = top[0]->count();
  float* y = top[0]->mutable_cpu_data();
  switch (op_) {
    case caffe::EltwiseParameter::PROD:
      Mul(count, bottom[0]->cpu_data(), bottom[1]->cpu_data(), y);
      for (size_t i = 2; i < bottom.size(); ++i) Mul(count, y, bottom[i]->cpu_data(), y);
      break;
    case caffe::EltwiseParameter::SUM:
      Scale(count, coeffs_[0], bottom[0]->cpu_data(), y);
      for (size_t i = 1; i < bottom.size(); ++i) Axpy(count, coeffs_[i], bottom[i]->cpu_data(), y);
      break;
    case caffe::EltwiseParameter::MAX: {
      int* max_index = reinterpret_cast<int*>(max_index_.mutable_cpu_data());
      const float* a = bottom[0]->cpu_data();
      const float* b = bottom[1]->cpu_data();
      // Ties between the first two go to bottom 1, later ties to the
      // earlier bottom: the order Caffe's masks record.
      ParallelForElements(count, [=](int64_t lo, int64_t hi) {
        for (int64_t j = lo; j < hi; ++j) {
          const bool first = a[j] > b[j];
          y[j] = first ? a[j] : b[j];
          max_index[j] = first ? 0 : 1;
        }
      });
      for (size_t i = 2; i < bottom.size(); ++i) {
        const float* x = bottom[i]->cpu_data();
        const int index = static_cast<int>(i);
        ParallelForElements(count, [=](int64_t lo, int64_t hi) {
          for (int64_t j = lo; j < hi; ++j) {
            if (x[j] > y[j]) {
              y[j] = x[j];
              max_index[j] = index;
            }
          }
        });
      }
      break;
    }
    default:
      ThrowError(ErrorPrefix(), "unknown operation ", static_cast<int>(op_));
  }
}

void EltwiseLayer::BackwardImpl(const BlobVec& top, const std::vector<bool>& propagate_down,
                                const BlobVec& bottom) {
  const int64_t count = top[0]->count();
  const float* y = top[0]->cpu_data();
  const float* dy = top[0]->cpu_diff();
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (!propagate_down[i]) continue;
    float* dx = bottom[i]->mutable_cpu_diff();
    switch (op_) {
      case caffe::EltwiseParameter::PROD:
        if (stable_prod_grad_) {
          // The product of the other bottoms, which stays right when this
          // bottom holds zeros (dividing y by it would not).
          bool started = false;
          for (size_t j = 0; j < bottom.size(); ++j) {
            if (j == i) continue;
            if (!started) {
              Copy(count, bottom[j]->cpu_data(), dx);
              started = true;
            } else {
              Mul(count, dx, bottom[j]->cpu_data(), dx);
            }
          }
        } else {
          Div(count, y, bottom[i]->cpu_data(), dx);
        }
        Mul(count, dx, dy, dx);
        break;
      case caffe::EltwiseParameter::SUM:
        Scale(count, coeffs_[i], dy, dx);
        break;
      case caffe::EltwiseParameter::MAX: {
        const int* max_index = reinterpret_cast<const int*>(max_index_.cpu_data());
        const int index = static_cast<int>(i);
        ParallelForElements(count, [=](int64_t lo, int64_t hi) {
          for (int64_t j = lo; j < hi; ++j) dx[j] = max_index[j] == index ? dy[j] : 0.f;
        });
        break;
      }
      default:
        break;
    }
  }
}

#ifdef CORTADO_WITH_CUDA
void EltwiseLayer::ForwardGpu(const BlobVec& bottom, const BlobVec& top) {
  const int64_t count = top[0]->count();
  float* y = top[0]->mutable_gpu_data();
  switch (op_) {
    case caffe::EltwiseParameter::PROD:
      gpu::Mul(count, bottom[0]->gpu_data(), bottom[1]->gpu_data(), y);
      for (size_t i = 2; i < bottom.size(); ++i) gpu::Mul(count, y, bottom[i]->gpu_data(), y);
      break;
    case caffe::EltwiseParameter::SUM:
      gpu::Scale(count, coeffs_[0], bottom[0]->gpu_data(), y);
      for (size_t i = 1; i < bottom.size(); ++i) {
        gpu::Axpy(count, coeffs_[i], bottom[i]->gpu_data(), y);
      }
      break;
    case caffe::EltwiseParameter::MAX: {
      std::vector<const float*> x;
      for (Blob* b : bottom) x.push_back(b->gpu_data());
      EltwiseMaxForwardGpu(count, x.data(), static_cast<int>(x.size()), y,
                           max_index_.mutable_gpu_data());
      break;
    }
    default:
      ThrowError(ErrorPrefix(), "unknown operation ", static_cast<int>(op_));
  }
}

void EltwiseLayer::BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                               const BlobVec& bottom) {
  const int64_t count = top[0]->count();
  const float* y = top[0]->gpu_data();
  const float* dy = top[0]->gpu_diff();
  for (size_t i = 0; i < bottom.size(); ++i) {
    if (!propagate_down[i]) continue;
    float* dx = bottom[i]->mutable_gpu_diff();
    switch (op_) {
      case caffe::EltwiseParameter::PROD:
        if (stable_prod_grad_) {
          bool started = false;
          for (size_t j = 0; j < bottom.size(); ++j) {
            if (j == i) continue;
            if (!started) {
              gpu::Copy(count, bottom[j]->gpu_data(), dx);
              started = true;
            } else {
              gpu::Mul(count, dx, bottom[j]->gpu_data(), dx);
            }
          }
        } else {
          gpu::Div(count, y, bottom[i]->gpu_data(), dx);
        }
        gpu::Mul(count, dx, dy, dx);
        break;
      case caffe::EltwiseParameter::SUM:
        gpu::Scale(count, coeffs_[i], dy, dx);
        break;
      case caffe::EltwiseParameter::MAX:
        EltwiseMaxBackwardGpu(count, dy, max_index_.gpu_data(), static_cast<int>(i), dx);
        break;
      default:
        break;
    }
  }
}
#endif

CORTADO_REGISTER_LAYER(Eltwise, EltwiseLayer)

}  // namespace cortado
