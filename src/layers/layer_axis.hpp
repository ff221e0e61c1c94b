// Reading an axis field of a layer parameter against a bottom's shape.
#ifndef CORTADO_SRC_LAYERS_LAYER_AXIS_HPP_
#define CORTADO_SRC_LAYERS_LAYER_AXIS_HPP_

#include <string>

#include "cortado/blob.hpp"
#include "cortado/common.hpp"

namespace cortado {

// The axis in [0, num_axes) that `axis` names (negative counts from the
// end); throws Error naming the layer (error_prefix) and the field.
inline int CanonicalAxisOrThrow(const Blob& blob, int axis, const std::string& error_prefix,
                                const char* field) {
  const int axes = blob.num_axes();
  if (axis < -axes || axis >= axes) {
    ThrowError(error_prefix, field, " ", axis, " is out of range for bottom of shape ",
               blob.shape_string(), " (", axes, " axes)");
  }
  return axis < 0 ? axis + axes : axis;
}

}  // namespace cortado

#endif  // CORTADO_SRC_LAYERS_LAYER_AXIS_HPP_
