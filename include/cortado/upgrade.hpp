// Upgrades of legacy net and solver files to the current schema: V0 and V1
// nets (`layers { type: CONVOLUTION }`), data-transformation fields inside
// data parameters, net-level inputs, and the solver_type enum.
#ifndef CORTADO_UPGRADE_HPP_
#define CORTADO_UPGRADE_HPP_

#include <string>

#include "caffe.pb.h"

namespace cortado {

// V0: `layers { layer { type: "conv" ... } }`, with padding layers.
bool NetNeedsV0ToV1Upgrade(const caffe::NetParameter& param);
// V1: `layers { type: CONVOLUTION blobs_lr: 1 }`.
bool NetNeedsV1ToV2Upgrade(const caffe::NetParameter& param);
// scale/mean_file/crop_size/mirror inside data_param, image_data_param or
// window_data_param instead of transform_param.
bool NetNeedsDataUpgrade(const caffe::NetParameter& param);
// Net-level `input:` with `input_dim:` or `input_shape {}`.
bool NetNeedsInputUpgrade(const caffe::NetParameter& param);
bool NetNeedsUpgrade(const caffe::NetParameter& param);

// Applies every upgrade the net needs, in place, and returns whether it
// changed anything (logging "<origin>: upgraded ..." when it did). Throws
// Error naming origin, layer and field when a legacy net cannot be upgraded.
bool UpgradeNetAsNeeded(const std::string& origin, caffe::NetParameter* param);

// The individual steps, for tests and tools; each throws like the above.
void UpgradeV0Net(const std::string& origin, caffe::NetParameter* param);
void UpgradeV1Net(const std::string& origin, caffe::NetParameter* param);
void UpgradeNetDataTransformation(const std::string& origin, caffe::NetParameter* param);
// Replaces the net-level inputs with one Input layer named "input" at the front.
void UpgradeNetInput(const std::string& origin, caffe::NetParameter* param);

// The V1 enum name of a layer type as the current type string
// (CONVOLUTION -> "Convolution"); throws Error for NONE.
std::string UpgradeV1LayerType(caffe::V1LayerParameter::LayerType type);

// solver_type: ADAM -> type: "Adam".
bool SolverNeedsTypeUpgrade(const caffe::SolverParameter& param);
bool UpgradeSolverAsNeeded(const std::string& origin, caffe::SolverParameter* param);

}  // namespace cortado

#endif  // CORTADO_UPGRADE_HPP_
