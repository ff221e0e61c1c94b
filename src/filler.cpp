// Parameter initialisers, with Caffe's fan-in/fan-out conventions.
#include "cortado/filler.hpp"

#include <cmath>

#include "cortado/math.hpp"
#include "cortado/rng.hpp"

namespace cortado {
namespace {

// Caffe's convention: fan_in = count / shape[0], fan_out = count / shape[1].
float VarianceScale(const caffe::FillerParameter& param, const Blob& blob) {
  const float fan_in = blob.num_axes() > 0 ? float(blob.count()) / blob.shape(0) : 1.f;
  const float fan_out = blob.num_axes() > 1 ? float(blob.count()) / blob.shape(1) : 1.f;
  switch (param.variance_norm()) {
    case caffe::FillerParameter::AVERAGE: return (fan_in + fan_out) / 2.f;
    case caffe::FillerParameter::FAN_OUT: return fan_out;
    default: return fan_in;
  }
}

}  // namespace

void FillBlob(const caffe::FillerParameter& param, Blob* blob) {
  const std::string& type = param.type();
  const int64_t count = blob->count();
  float* data = blob->mutable_cpu_data();
  if (type == "constant") {
    Set(count, param.value(), data);
  } else if (type == "uniform") {
    RngUniform(count, param.min(), param.max(), data);
  } else if (type == "gaussian") {
    RngGaussian(count, param.mean(), param.std(), data);
    if (param.sparse() >= 0) {
      // Keep each weight with probability sparse / num_outputs.
      if (blob->num_axes() < 1) ThrowError("sparse gaussian filler needs a blob with axes");
      const float keep = std::min(1.f, float(param.sparse()) / blob->shape(0));
      std::vector<unsigned> mask(count);
      RngBernoulli(count, keep, mask.data());
      for (int64_t i = 0; i < count; ++i) data[i] *= mask[i];
    }
  } else if (type == "positive_unitball") {
    RngUniform(count, 0, 1, data);
    // Each row (all but the first axis) sums to one.
    const int64_t rows = blob->num_axes() > 0 ? blob->shape(0) : 1;
    const int64_t dim = rows ? count / rows : 0;
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int64_t j = 0; j < dim; ++j) sum += data[r * dim + j];
      for (int64_t j = 0; j < dim; ++j) data[r * dim + j] = float(data[r * dim + j] / sum);
    }
  } else if (type == "xavier") {
    const float scale = std::sqrt(3.f / VarianceScale(param, *blob));
    RngUniform(count, -scale, scale, data);
  } else if (type == "msra") {
    const float stddev = std::sqrt(2.f / VarianceScale(param, *blob));
    RngGaussian(count, 0, stddev, data);
  } else if (type == "bilinear") {
    if (blob->num_axes() != 4 || blob->shape(2) != blob->shape(3)) {
      ThrowError("bilinear filler needs a 4-d blob with square kernels, got ",
                 blob->shape_string());
    }
    const int k = blob->shape(3);
    // Upsampling kernel: a separable tent centred on the (possibly
    // half-pixel) kernel centre.
    const int f = (k + 1) / 2;
    const float c = (2 * f - 1 - f % 2) / (2.f * f);
    for (int64_t i = 0; i < count; ++i) {
      const int x = i % k;
      const int y = (i / k) % k;
      data[i] = (1 - std::fabs(float(x) / f - c)) * (1 - std::fabs(float(y) / f - c));
    }
  } else {
    ThrowError("unknown filler type '", type,
               "' (known: constant, uniform, gaussian, positive_unitball, xavier, msra, bilinear)");
  }
}

}  // namespace cortado
