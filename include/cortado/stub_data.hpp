// Replaces data layers whose source is missing with Input layers of the shape
// they would produce, so a train/val net can be built, timed and checked
// without its data set.
#ifndef CORTADO_STUB_DATA_HPP_
#define CORTADO_STUB_DATA_HPP_

#include <map>
#include <string>
#include <vector>

#include "caffe.pb.h"

namespace cortado {

struct StubDataOptions {
  // Stub every data layer, even one whose source exists.
  bool force = false;
  // Shapes of one item (no batch axis) by top name, for tops whose shape
  // the layer does not declare (e.g. a Data layer without crop_size).
  std::map<std::string, std::vector<int>> item_shapes;
  // Overrides every stubbed layer's batch size when positive.
  int batch_size = 0;
};

struct StubbedLayer {
  std::string name;
  std::string type;
  std::string reason;  // e.g. "source 'examples/mnist/mnist_train_lmdb' not found"
  std::vector<std::vector<int>> top_shapes;
};

// Works on an upgraded NetParameter (see ReadNetParamsFromTextFile). Data,
// ImageData, HDF5Data and WindowData layers are replaced in place, keeping
// name, tops and include/exclude rules. The data top's shape comes from
// item_shapes, else from the layer: crop_size or new_height/new_width, with
// 3 channels (1 for is_color: false or force_gray); extra tops (labels) get
// one value per item. Logs each replacement; throws Error naming the layer
// and top when a shape can be neither read nor found in item_shapes.
std::vector<StubbedLayer> StubDataSources(caffe::NetParameter* param,
                                          const StubDataOptions& options = {});

// Parses "top:C,H,W;top2:D" (the --stub_shape flag) into item shapes.
std::map<std::string, std::vector<int>> ParseItemShapes(const std::string& text);

}  // namespace cortado

#endif  // CORTADO_STUB_DATA_HPP_
