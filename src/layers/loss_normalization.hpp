// How loss layers divide their summed loss: LossParameter's normalization
// modes (FULL, VALID, BATCH_SIZE, NONE) and the legacy `normalize` flag.
#ifndef CORTADO_SRC_LAYERS_LOSS_NORMALIZATION_HPP_
#define CORTADO_SRC_LAYERS_LOSS_NORMALIZATION_HPP_

#include <algorithm>
#include <cstdint>

#include "caffe.pb.h"

namespace cortado {

using NormalizationMode = caffe::LossParameter::NormalizationMode;

// The mode a loss layer uses: `normalization` if set; else the legacy
// `normalize` (true: VALID, false: BATCH_SIZE); else the layer's default
// (VALID for SoftmaxWithLoss, BATCH_SIZE for SigmoidCrossEntropyLoss, as
// in BVLC).
inline NormalizationMode ReadNormalizationMode(const caffe::LossParameter& param,
                                               NormalizationMode fallback) {
  if (param.has_normalization()) return param.normalization();
  if (param.has_normalize()) {
    return param.normalize() ? caffe::LossParameter::VALID : caffe::LossParameter::BATCH_SIZE;
  }
  return fallback;
}

// The divisor for `outer` items of `inner` predictions each, `valid` of
// them not ignored. Never below 1: an all-ignored batch would divide by
// zero, and its loss is zero anyway.
inline double LossNormalizer(NormalizationMode mode, int64_t outer, int64_t inner,
                             int64_t valid) {
  double normalizer = 1;
  switch (mode) {
    case caffe::LossParameter::FULL:
      normalizer = static_cast<double>(outer * inner);
      break;
    case caffe::LossParameter::VALID:
      normalizer = static_cast<double>(valid);
      break;
    case caffe::LossParameter::BATCH_SIZE:
      normalizer = static_cast<double>(outer);
      break;
    case caffe::LossParameter::NONE:
      normalizer = 1;
      break;
  }
  return std::max(1.0, normalizer);
}

}  // namespace cortado

#endif  // CORTADO_SRC_LAYERS_LOSS_NORMALIZATION_HPP_
