// Data layers without their data: Input layers of the same tops and shapes.
#include "cortado/stub_data.hpp"

#include <sstream>

#include "cortado/common.hpp"
#include "cortado/io.hpp"

namespace cortado {
namespace {

struct DataLayerInfo {
  std::string source;
  int batch_size = 0;
  int channels = 3;
  int height = 0;  // 0: not declared
  int width = 0;
};

// What a data layer declares about its output, or false for other types.
bool ReadDataLayer(const caffe::LayerParameter& layer, DataLayerInfo* info) {
  const caffe::TransformationParameter& t = layer.transform_param();
  info->height = info->width = static_cast<int>(t.crop_size());
  info->channels = t.force_gray() ? 1 : 3;
  const std::string& type = layer.type();
  if (type == "Data") {
    info->source = layer.data_param().source();
    info->batch_size = static_cast<int>(layer.data_param().batch_size());
  } else if (type == "ImageData") {
    const caffe::ImageDataParameter& p = layer.image_data_param();
    info->source = p.source();
    info->batch_size = static_cast<int>(p.batch_size());
    if (!p.is_color()) info->channels = 1;
    if (info->height == 0 && p.new_height() > 0) {
      info->height = static_cast<int>(p.new_height());
      info->width = static_cast<int>(p.new_width());
    }
  } else if (type == "WindowData") {
    info->source = layer.window_data_param().source();
    info->batch_size = static_cast<int>(layer.window_data_param().batch_size());
    if (info->height == 0) info->height = info->width = static_cast<int>(layer.window_data_param().crop_size());
  } else if (type == "HDF5Data") {
    info->source = layer.hdf5_data_param().source();
    info->batch_size = static_cast<int>(layer.hdf5_data_param().batch_size());
    info->height = info->width = 0;  // datasets have any shape
  } else {
    return false;
  }
  return true;
}

std::string ShapeString(const std::vector<int>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

}  // namespace

std::vector<StubbedLayer> StubDataSources(caffe::NetParameter* param,
                                          const StubDataOptions& options) {
  std::vector<StubbedLayer> stubbed;
  for (caffe::LayerParameter& layer : *param->mutable_layer()) {
    DataLayerInfo info;
    if (!ReadDataLayer(layer, &info)) continue;
    const bool missing = info.source.empty() || !FileExists(info.source);
    if (!missing && !options.force) continue;
    StubbedLayer stub;
    stub.name = layer.name();
    stub.type = layer.type();
    stub.reason = missing ? "source '" + info.source + "' not found" : "stubbing requested";
    const int batch = options.batch_size > 0 ? options.batch_size : std::max(info.batch_size, 1);
    caffe::InputParameter input;
    for (int t = 0; t < layer.top_size(); ++t) {
      const std::string& top = layer.top(t);
      std::vector<int> shape = {batch};
      auto hint = options.item_shapes.find(top);
      if (hint != options.item_shapes.end()) {
        shape.insert(shape.end(), hint->second.begin(), hint->second.end());
      } else if (t > 0) {
        // Labels: one per item (Caffe's Data, ImageData and WindowData).
      } else if (info.height > 0) {
        shape.insert(shape.end(), {info.channels, info.height, info.width});
      } else {
        ThrowError("layer '", layer.name(), "' (", layer.type(), "): cannot stub top '", top,
                   "': the layer does not declare its shape (no crop_size or new_height/"
                   "new_width); give it, e.g. --stub_shape=", top, ":3,32,32");
      }
      caffe::BlobShape* blob_shape = input.add_shape();
      for (int d : shape) blob_shape->add_dim(d);
      stub.top_shapes.push_back(shape);
    }
    caffe::LayerParameter replacement;
    replacement.set_name(layer.name());
    replacement.set_type("Input");
    for (const auto& top : layer.top()) replacement.add_top(top);
    for (const auto& rule : layer.include()) replacement.add_include()->CopyFrom(rule);
    for (const auto& rule : layer.exclude()) replacement.add_exclude()->CopyFrom(rule);
    *replacement.mutable_input_param() = input;
    layer = replacement;
    std::string shapes;
    for (const auto& s : stub.top_shapes) shapes += (shapes.empty() ? "" : ", ") + ShapeString(s);
    LOG(INFO) << "Stubbing data layer '" << stub.name << "' (" << stub.type << ", " << stub.reason
              << ") with an Input layer of shape " << shapes;
    stubbed.push_back(stub);
  }
  return stubbed;
}

std::map<std::string, std::vector<int>> ParseItemShapes(const std::string& text) {
  std::map<std::string, std::vector<int>> shapes;
  std::stringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ';')) {
    if (entry.empty()) continue;
    const size_t colon = entry.find(':');
    if (colon == std::string::npos || colon == 0) {
      ThrowError("stub shape '", entry, "' is not of the form top:C,H,W");
    }
    std::vector<int> dims;
    std::stringstream values(entry.substr(colon + 1));
    std::string value;
    while (std::getline(values, value, ',')) {
      try {
        size_t used = 0;
        const int d = std::stoi(value, &used);
        if (used != value.size() || d <= 0) throw std::invalid_argument(value);
        dims.push_back(d);
      } catch (const std::exception&) {
        ThrowError("stub shape '", entry, "': '", value, "' is not a positive integer");
      }
    }
    if (dims.empty()) ThrowError("stub shape '", entry, "' has no dimensions");
    shapes[entry.substr(0, colon)] = dims;
  }
  return shapes;
}

}  // namespace cortado
