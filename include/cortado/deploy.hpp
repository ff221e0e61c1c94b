// Turning a train_val or deploy net and its weights into a lean inference
// net in plain BVLC form (`cortado deploy`).
#ifndef CORTADO_DEPLOY_HPP_
#define CORTADO_DEPLOY_HPP_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caffe.pb.h"

namespace cortado {

class Net;

struct DeployOptions {
  int level = 0;
  std::vector<std::string> stages;
  // Batch size of the Input layers (0: as the model says).
  int batch = 0;
  // Item shapes (no batch axis) by top name for data layers that do not
  // declare theirs (see StubDataOptions::item_shapes).
  std::map<std::string, std::vector<int>> item_shapes;
};

struct DeployResult {
  // The deployed net with its weights in each layer's blobs: write it as a
  // caffemodel, and without blobs as the prototxt.
  caffe::NetParameter net;
  // The TEST net the weights were loaded into, as it was before deploying:
  // what the deployed net must agree with. Its data layers are Input layers.
  std::unique_ptr<Net> original;
  // What was done, one line per change, for the log.
  std::vector<std::string> changes;
  int folded = 0;       // BatchNorm and Scale layers folded into weights
  int removed = 0;      // Dropout, loss, accuracy and label-only layers
  int made_in_place = 0;
};

// Reads `model` (upgraded from any legacy format) at TEST with the options'
// level and stages; replaces data layers by Input layers of the shape they
// produce, keeping only the first top (the labels go, with every layer
// that needs them; SoftmaxWithLoss becomes Softmax); loads `weights`, which
// must cover every layer with parameters; removes Dropout; folds BatchNorm
// (with stored statistics) and per-channel Scale layers into the
// Convolution or InnerProduct whose output only they read; runs element-wise
// layers in place where their input has no other reader (a net output keeps
// its name); and drops phase rules, parameter specs and Cortado-only fields.
// Throws Error naming the file and layer on bad input.
DeployResult DeployNet(const std::string& model, const std::vector<std::string>& weights,
                       const DeployOptions& options = {});

// The net without its weights, for the deployed prototxt.
caffe::NetParameter WithoutBlobs(const caffe::NetParameter& net);

}  // namespace cortado

#endif  // CORTADO_DEPLOY_HPP_
