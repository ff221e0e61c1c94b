// Parameter initialisation from a FillerParameter (constant, uniform,
// gaussian, positive_unitball, xavier, msra, bilinear).
#ifndef CORTADO_FILLER_HPP_
#define CORTADO_FILLER_HPP_

#include "caffe.pb.h"
#include "cortado/blob.hpp"

namespace cortado {

// Throws Error for an unknown filler type.
void FillBlob(const caffe::FillerParameter& param, Blob* blob);

}  // namespace cortado

#endif  // CORTADO_FILLER_HPP_
