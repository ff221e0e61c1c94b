// Upgrades legacy nets (V0, V1, old data and input fields) and solvers to the
// current schema. Only the loaders call this: layers read the current form.
#include "cortado/upgrade.hpp"

#include <map>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

#include "cortado/common.hpp"

namespace cortado {
namespace {

using caffe::LayerParameter;
using caffe::NetParameter;
using caffe::V0LayerParameter;
using caffe::V1LayerParameter;

// --- V0 -> V1 ----------------------------------------------------------------

V1LayerParameter::LayerType V0TypeToV1(const std::string& origin, const V0LayerParameter& v0) {
  static const std::map<std::string, V1LayerParameter::LayerType> kTypes = {
      {"accuracy", V1LayerParameter::ACCURACY},
      {"bnll", V1LayerParameter::BNLL},
      {"concat", V1LayerParameter::CONCAT},
      {"conv", V1LayerParameter::CONVOLUTION},
      {"data", V1LayerParameter::DATA},
      {"dropout", V1LayerParameter::DROPOUT},
      {"euclidean_loss", V1LayerParameter::EUCLIDEAN_LOSS},
      {"flatten", V1LayerParameter::FLATTEN},
      {"hdf5_data", V1LayerParameter::HDF5_DATA},
      {"hdf5_output", V1LayerParameter::HDF5_OUTPUT},
      {"im2col", V1LayerParameter::IM2COL},
      {"images", V1LayerParameter::IMAGE_DATA},
      {"infogain_loss", V1LayerParameter::INFOGAIN_LOSS},
      {"innerproduct", V1LayerParameter::INNER_PRODUCT},
      {"lrn", V1LayerParameter::LRN},
      {"multinomial_logistic_loss", V1LayerParameter::MULTINOMIAL_LOGISTIC_LOSS},
      {"pool", V1LayerParameter::POOLING},
      {"relu", V1LayerParameter::RELU},
      {"sigmoid", V1LayerParameter::SIGMOID},
      {"softmax", V1LayerParameter::SOFTMAX},
      {"softmax_loss", V1LayerParameter::SOFTMAX_LOSS},
      {"split", V1LayerParameter::SPLIT},
      {"tanh", V1LayerParameter::TANH},
      {"window_data", V1LayerParameter::WINDOW_DATA},
  };
  auto it = kTypes.find(v0.type());
  if (it == kTypes.end()) {
    ThrowError(origin, ": V0 layer '", v0.name(), "' has unknown type '", v0.type(), "'");
  }
  return it->second;
}

// Moves each V0 field into the parameter message of the layer types that
// used it; a field set on any other type is an error rather than a silent drop.
void UpgradeV0Layer(const std::string& origin, const V0LayerParameter& v0, int pad,
                    V1LayerParameter* v1) {
  const std::string& type = v0.type();
  auto misplaced = [&](const char* field) {
    ThrowError(origin, ": V0 layer '", v0.name(), "' of type '", type, "' sets '", field,
               "', which that type does not use");
  };
  v1->set_type(V0TypeToV1(origin, v0));
  v1->set_name(v0.name());
  for (const auto& blob : v0.blobs()) v1->add_blobs()->CopyFrom(blob);
  for (float lr : v0.blobs_lr()) v1->add_blobs_lr(lr);
  for (float decay : v0.weight_decay()) v1->add_weight_decay(decay);

  const bool conv = type == "conv";
  const bool ip = type == "innerproduct";
  const bool pool = type == "pool";
  const bool data = type == "data";
  const bool images = type == "images";
  const bool window = type == "window_data";
  caffe::ConvolutionParameter* conv_param = v1->mutable_convolution_param();
  caffe::InnerProductParameter* ip_param = v1->mutable_inner_product_param();
  if (v0.has_num_output()) {
    if (conv) conv_param->set_num_output(v0.num_output());
    else if (ip) ip_param->set_num_output(v0.num_output());
    else misplaced("num_output");
  }
  if (v0.has_biasterm()) {
    if (conv) conv_param->set_bias_term(v0.biasterm());
    else if (ip) ip_param->set_bias_term(v0.biasterm());
    else misplaced("biasterm");
  }
  if (v0.has_weight_filler()) {
    if (conv) conv_param->mutable_weight_filler()->CopyFrom(v0.weight_filler());
    else if (ip) ip_param->mutable_weight_filler()->CopyFrom(v0.weight_filler());
    else misplaced("weight_filler");
  }
  if (v0.has_bias_filler()) {
    if (conv) conv_param->mutable_bias_filler()->CopyFrom(v0.bias_filler());
    else if (ip) ip_param->mutable_bias_filler()->CopyFrom(v0.bias_filler());
    else misplaced("bias_filler");
  }
  if (v0.has_pad() && !conv) misplaced("pad");
  if (conv && (v0.has_pad() || pad > 0)) {
    if (v0.pad() > 0 && pad > 0) {
      ThrowError(origin, ": V0 layer '", v0.name(), "' has its own pad and follows a "
                 "padding layer; give one of them");
    }
    conv_param->add_pad(pad > 0 ? pad : v0.pad());
  }
  if (v0.has_kernelsize()) {
    if (conv) conv_param->add_kernel_size(v0.kernelsize());
    else if (pool) v1->mutable_pooling_param()->set_kernel_size(v0.kernelsize());
    else misplaced("kernelsize");
  }
  if (v0.has_group()) {
    if (conv) conv_param->set_group(v0.group());
    else misplaced("group");
  }
  if (v0.has_stride()) {
    if (conv) conv_param->add_stride(v0.stride());
    else if (pool) v1->mutable_pooling_param()->set_stride(v0.stride());
    else misplaced("stride");
  }
  if (v0.has_pool()) {
    if (!pool) misplaced("pool");
    // The enums share their numbering (MAX, AVE, STOCHASTIC).
    v1->mutable_pooling_param()->set_pool(
        static_cast<caffe::PoolingParameter::PoolMethod>(v0.pool()));
  }
  if (v0.has_dropout_ratio()) {
    if (type != "dropout") misplaced("dropout_ratio");
    v1->mutable_dropout_param()->set_dropout_ratio(v0.dropout_ratio());
  }
  if (v0.has_local_size() || v0.has_alpha() || v0.has_beta() || v0.has_k()) {
    if (type != "lrn") misplaced("local_size/alpha/beta/k");
    caffe::LRNParameter* lrn = v1->mutable_lrn_param();
    if (v0.has_local_size()) lrn->set_local_size(v0.local_size());
    if (v0.has_alpha()) lrn->set_alpha(v0.alpha());
    if (v0.has_beta()) lrn->set_beta(v0.beta());
    if (v0.has_k()) lrn->set_k(v0.k());
  }
  if (v0.has_source()) {
    if (data) v1->mutable_data_param()->set_source(v0.source());
    else if (images) v1->mutable_image_data_param()->set_source(v0.source());
    else if (window) v1->mutable_window_data_param()->set_source(v0.source());
    else if (type == "hdf5_data") v1->mutable_hdf5_data_param()->set_source(v0.source());
    else if (type == "infogain_loss") v1->mutable_infogain_loss_param()->set_source(v0.source());
    else misplaced("source");
  }
  // V0 kept pre-processing in the data layer itself; it now lives in
  // transform_param for every data layer type.
  const bool transforms = data || images || window;
  caffe::TransformationParameter* transform = v1->mutable_transform_param();
  if (v0.has_scale()) {
    if (!transforms) misplaced("scale");
    transform->set_scale(v0.scale());
  }
  if (v0.has_meanfile()) {
    if (!transforms) misplaced("meanfile");
    transform->set_mean_file(v0.meanfile());
  }
  if (v0.has_cropsize()) {
    if (!transforms) misplaced("cropsize");
    transform->set_crop_size(v0.cropsize());
  }
  if (v0.has_mirror()) {
    if (!transforms) misplaced("mirror");
    transform->set_mirror(v0.mirror());
  }
  if (v0.has_batchsize()) {
    if (data) v1->mutable_data_param()->set_batch_size(v0.batchsize());
    else if (images) v1->mutable_image_data_param()->set_batch_size(v0.batchsize());
    else if (window) v1->mutable_window_data_param()->set_batch_size(v0.batchsize());
    else if (type == "hdf5_data") v1->mutable_hdf5_data_param()->set_batch_size(v0.batchsize());
    else misplaced("batchsize");
  }
  if (v0.has_rand_skip()) {
    if (data) v1->mutable_data_param()->set_rand_skip(v0.rand_skip());
    else if (images) v1->mutable_image_data_param()->set_rand_skip(v0.rand_skip());
    else misplaced("rand_skip");
  }
  if (v0.has_shuffle_images()) {
    if (!images) misplaced("shuffle_images");
    v1->mutable_image_data_param()->set_shuffle(v0.shuffle_images());
  }
  if (v0.has_new_height() || v0.has_new_width()) {
    if (!images) misplaced("new_height/new_width");
    v1->mutable_image_data_param()->set_new_height(v0.new_height());
    v1->mutable_image_data_param()->set_new_width(v0.new_width());
  }
  if (v0.has_new_num() || v0.has_new_channels()) misplaced("new_num/new_channels");
  if (v0.has_concat_dim()) {
    if (type != "concat") misplaced("concat_dim");
    v1->mutable_concat_param()->set_axis(static_cast<int>(v0.concat_dim()));
  }
  if (v0.has_det_fg_threshold() || v0.has_det_bg_threshold() || v0.has_det_fg_fraction() ||
      v0.has_det_context_pad() || v0.has_det_crop_mode()) {
    if (!window) misplaced("det_*");
    caffe::WindowDataParameter* w = v1->mutable_window_data_param();
    if (v0.has_det_fg_threshold()) w->set_fg_threshold(v0.det_fg_threshold());
    if (v0.has_det_bg_threshold()) w->set_bg_threshold(v0.det_bg_threshold());
    if (v0.has_det_fg_fraction()) w->set_fg_fraction(v0.det_fg_fraction());
    if (v0.has_det_context_pad()) w->set_context_pad(v0.det_context_pad());
    if (v0.has_det_crop_mode()) w->set_crop_mode(v0.det_crop_mode());
  }
  if (v0.has_hdf5_output_param()) {
    if (type != "hdf5_output") misplaced("hdf5_output_param");
    v1->mutable_hdf5_output_param()->CopyFrom(v0.hdf5_output_param());
  }
  // Drop the parameter messages this type did not use (mutable_* created them).
  if (!conv) v1->clear_convolution_param();
  if (!ip) v1->clear_inner_product_param();
  if (!transforms || v1->transform_param().ByteSizeLong() == 0) v1->clear_transform_param();
}

// --- V1 -> V2 ----------------------------------------------------------------

// Copies every `*_param` message of a V1 layer into the LayerParameter field
// of the same name: both schemas use the same message types for them.
void CopyLayerParams(const std::string& origin, const V1LayerParameter& v1,
                     LayerParameter* layer) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* from = v1.GetReflection();
  const google::protobuf::Reflection* to = layer->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  from->ListFields(v1, &fields);
  const std::string suffix = "_param";
  for (const FieldDescriptor* field : fields) {
    const std::string& name = field->name();
    if (field->type() != FieldDescriptor::TYPE_MESSAGE || name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    const FieldDescriptor* target = layer->GetDescriptor()->FindFieldByName(name);
    if (target == nullptr || target->message_type() != field->message_type()) {
      ThrowError(origin, ": V1 layer '", v1.name(), "' field '", name,
                 "' has no counterpart in the current schema");
    }
    to->MutableMessage(layer, target)->CopyFrom(from->GetMessage(v1, field));
  }
}

void UpgradeV1Layer(const std::string& origin, const V1LayerParameter& v1,
                    LayerParameter* layer) {
  if (v1.has_layer()) {
    ThrowError(origin, ": layer '", v1.name(), "' mixes the V0 `layer {}` form into V1");
  }
  layer->set_name(v1.name());
  try {
    layer->set_type(UpgradeV1LayerType(v1.type()));
  } catch (const Error& e) {
    ThrowError(origin, ": V1 layer '", v1.name(), "': ", e.what());
  }
  for (const auto& name : v1.bottom()) layer->add_bottom(name);
  for (const auto& name : v1.top()) layer->add_top(name);
  for (const auto& rule : v1.include()) layer->add_include()->CopyFrom(rule);
  for (const auto& rule : v1.exclude()) layer->add_exclude()->CopyFrom(rule);
  for (float weight : v1.loss_weight()) layer->add_loss_weight(weight);
  for (const auto& blob : v1.blobs()) layer->add_blobs()->CopyFrom(blob);
  // Per-parameter settings were parallel lists; they are now one ParamSpec
  // per parameter blob.
  const int specs = std::max({v1.param_size(), v1.blob_share_mode_size(), v1.blobs_lr_size(),
                              v1.weight_decay_size()});
  for (int i = 0; i < specs; ++i) layer->add_param();
  for (int i = 0; i < v1.param_size(); ++i) layer->mutable_param(i)->set_name(v1.param(i));
  for (int i = 0; i < v1.blob_share_mode_size(); ++i) {
    layer->mutable_param(i)->set_share_mode(
        static_cast<caffe::ParamSpec::DimCheckMode>(v1.blob_share_mode(i)));
  }
  for (int i = 0; i < v1.blobs_lr_size(); ++i) layer->mutable_param(i)->set_lr_mult(v1.blobs_lr(i));
  for (int i = 0; i < v1.weight_decay_size(); ++i) {
    layer->mutable_param(i)->set_decay_mult(v1.weight_decay(i));
  }
  CopyLayerParams(origin, v1, layer);
}

// Moves the deprecated pre-processing fields of one data parameter message
// (DataParameter, ImageDataParameter, WindowDataParameter all name them alike)
// into transform_param.
template <typename DataParam>
bool MoveTransformFields(const std::string& origin, const std::string& layer_name,
                         DataParam* data, caffe::TransformationParameter* transform) {
  bool moved = false;
  auto conflict = [&](const char* field) {
    ThrowError(origin, ": layer '", layer_name, "' sets ", field,
               " both in its data parameters and in transform_param; keep transform_param");
  };
  if (data->has_scale()) {
    if (transform->has_scale()) conflict("scale");
    transform->set_scale(data->scale());
    data->clear_scale();
    moved = true;
  }
  if (data->has_mean_file()) {
    if (transform->has_mean_file()) conflict("mean_file");
    transform->set_mean_file(data->mean_file());
    data->clear_mean_file();
    moved = true;
  }
  if (data->has_crop_size()) {
    if (transform->has_crop_size()) conflict("crop_size");
    transform->set_crop_size(data->crop_size());
    data->clear_crop_size();
    moved = true;
  }
  if (data->has_mirror()) {
    if (transform->has_mirror()) conflict("mirror");
    transform->set_mirror(data->mirror());
    data->clear_mirror();
    moved = true;
  }
  return moved;
}

template <typename DataParam>
bool HasTransformFields(const DataParam& data) {
  return data.has_scale() || data.has_mean_file() || data.has_crop_size() || data.has_mirror();
}

}  // namespace

std::string UpgradeV1LayerType(V1LayerParameter::LayerType type) {
  switch (type) {
    case V1LayerParameter::NONE: ThrowError("layer type is NONE (missing `type`)");
    case V1LayerParameter::ABSVAL: return "AbsVal";
    case V1LayerParameter::ACCURACY: return "Accuracy";
    case V1LayerParameter::ARGMAX: return "ArgMax";
    case V1LayerParameter::BNLL: return "BNLL";
    case V1LayerParameter::CONCAT: return "Concat";
    case V1LayerParameter::CONTRASTIVE_LOSS: return "ContrastiveLoss";
    case V1LayerParameter::CONVOLUTION: return "Convolution";
    case V1LayerParameter::DATA: return "Data";
    case V1LayerParameter::DECONVOLUTION: return "Deconvolution";
    case V1LayerParameter::DROPOUT: return "Dropout";
    case V1LayerParameter::DUMMY_DATA: return "DummyData";
    case V1LayerParameter::EUCLIDEAN_LOSS: return "EuclideanLoss";
    case V1LayerParameter::ELTWISE: return "Eltwise";
    case V1LayerParameter::EXP: return "Exp";
    case V1LayerParameter::FLATTEN: return "Flatten";
    case V1LayerParameter::HDF5_DATA: return "HDF5Data";
    case V1LayerParameter::HDF5_OUTPUT: return "HDF5Output";
    case V1LayerParameter::HINGE_LOSS: return "HingeLoss";
    case V1LayerParameter::IM2COL: return "Im2col";
    case V1LayerParameter::IMAGE_DATA: return "ImageData";
    case V1LayerParameter::INFOGAIN_LOSS: return "InfogainLoss";
    case V1LayerParameter::INNER_PRODUCT: return "InnerProduct";
    case V1LayerParameter::LRN: return "LRN";
    case V1LayerParameter::MEMORY_DATA: return "MemoryData";
    case V1LayerParameter::MULTINOMIAL_LOGISTIC_LOSS: return "MultinomialLogisticLoss";
    case V1LayerParameter::MVN: return "MVN";
    case V1LayerParameter::POOLING: return "Pooling";
    case V1LayerParameter::POWER: return "Power";
    case V1LayerParameter::RELU: return "ReLU";
    case V1LayerParameter::SIGMOID: return "Sigmoid";
    case V1LayerParameter::SIGMOID_CROSS_ENTROPY_LOSS: return "SigmoidCrossEntropyLoss";
    case V1LayerParameter::SILENCE: return "Silence";
    case V1LayerParameter::SOFTMAX: return "Softmax";
    case V1LayerParameter::SOFTMAX_LOSS: return "SoftmaxWithLoss";
    case V1LayerParameter::SPLIT: return "Split";
    case V1LayerParameter::SLICE: return "Slice";
    case V1LayerParameter::TANH: return "TanH";
    case V1LayerParameter::WINDOW_DATA: return "WindowData";
    case V1LayerParameter::THRESHOLD: return "Threshold";
  }
  ThrowError("unknown V1 layer type ", static_cast<int>(type));
}

bool NetNeedsV0ToV1Upgrade(const NetParameter& param) {
  for (const auto& layer : param.layers()) {
    if (layer.has_layer()) return true;
  }
  return false;
}

bool NetNeedsV1ToV2Upgrade(const NetParameter& param) { return param.layers_size() > 0; }

bool NetNeedsDataUpgrade(const NetParameter& param) {
  for (const auto& layer : param.layer()) {
    if (HasTransformFields(layer.data_param()) || HasTransformFields(layer.image_data_param()) ||
        HasTransformFields(layer.window_data_param())) {
      return true;
    }
  }
  for (const auto& layer : param.layers()) {
    if (HasTransformFields(layer.data_param()) || HasTransformFields(layer.image_data_param()) ||
        HasTransformFields(layer.window_data_param())) {
      return true;
    }
  }
  return false;
}

bool NetNeedsInputUpgrade(const NetParameter& param) { return param.input_size() > 0; }

bool NetNeedsUpgrade(const NetParameter& param) {
  return NetNeedsV0ToV1Upgrade(param) || NetNeedsV1ToV2Upgrade(param) ||
         NetNeedsDataUpgrade(param) || NetNeedsInputUpgrade(param);
}

void UpgradeV0Net(const std::string& origin, NetParameter* param) {
  // A V0 padding layer only ever fed one convolution: fold its pad into that
  // convolution and read the padding layer's input directly.
  std::map<std::string, std::pair<int, std::string>> padded;  // top -> (pad, bottom)
  NetParameter upgraded(*param);
  upgraded.clear_layers();
  for (const V1LayerParameter& connection : param->layers()) {
    if (!connection.has_layer()) {
      ThrowError(origin, ": mixes V0 layers (`layers { layer {} }`) with V1 layer '",
                 connection.name(), "'");
    }
    const V0LayerParameter& v0 = connection.layer();
    if (v0.type() == "padding") {
      if (connection.bottom_size() != 1 || connection.top_size() != 1) {
        ThrowError(origin, ": V0 padding layer '", v0.name(), "' needs one bottom and one top");
      }
      padded[connection.top(0)] = {static_cast<int>(v0.pad()), connection.bottom(0)};
      continue;
    }
    V1LayerParameter* v1 = upgraded.add_layers();
    int pad = 0;
    for (int b = 0; b < connection.bottom_size(); ++b) {
      auto it = padded.find(connection.bottom(b));
      if (it == padded.end()) {
        v1->add_bottom(connection.bottom(b));
        continue;
      }
      if (v0.type() != "conv" || connection.bottom_size() != 1) {
        ThrowError(origin, ": V0 padding output '", connection.bottom(b),
                   "' feeds layer '", v0.name(), "' of type '", v0.type(),
                   "'; only a single-input conv layer can absorb padding");
      }
      pad = it->second.first;
      v1->add_bottom(it->second.second);
    }
    for (const auto& top : connection.top()) v1->add_top(top);
    UpgradeV0Layer(origin, v0, pad, v1);
  }
  *param = upgraded;
}

void UpgradeV1Net(const std::string& origin, NetParameter* param) {
  if (param->layer_size() > 0) {
    ThrowError(origin, ": has both V1 `layers` and current `layer` entries; use one form");
  }
  NetParameter upgraded(*param);
  upgraded.clear_layers();
  for (const V1LayerParameter& v1 : param->layers()) {
    UpgradeV1Layer(origin, v1, upgraded.add_layer());
  }
  *param = upgraded;
}

void UpgradeNetDataTransformation(const std::string& origin, NetParameter* param) {
  for (LayerParameter& layer : *param->mutable_layer()) {
    caffe::TransformationParameter* transform = layer.mutable_transform_param();
    MoveTransformFields(origin, layer.name(), layer.mutable_data_param(), transform);
    MoveTransformFields(origin, layer.name(), layer.mutable_image_data_param(), transform);
    MoveTransformFields(origin, layer.name(), layer.mutable_window_data_param(), transform);
    // mutable_* above marks the messages present; unmark the empty ones.
    if (layer.data_param().ByteSizeLong() == 0) layer.clear_data_param();
    if (layer.image_data_param().ByteSizeLong() == 0) layer.clear_image_data_param();
    if (layer.window_data_param().ByteSizeLong() == 0) layer.clear_window_data_param();
    if (transform->ByteSizeLong() == 0) layer.clear_transform_param();
  }
}

void UpgradeNetInput(const std::string& origin, NetParameter* param) {
  if (param->input_size() == 0) return;
  const int inputs = param->input_size();
  const bool by_shape = param->input_shape_size() > 0;
  if (!by_shape && param->input_dim_size() == 0) {
    // Inputs with no dims at all are a leftover of old caffemodels, whose
    // nets also have an Input layer for the blob (or get their inputs some
    // other way); Caffe strips them, and so do we.
    std::string names;
    for (const std::string& name : param->input()) {
      names += (names.empty() ? "'" : ", '") + name + "'";
    }
    LOG(INFO) << origin << ": ignoring net-level input " << names
              << " without input_dim or input_shape (a leftover Caffe also strips)";
    param->clear_input();
    return;
  }
  if (by_shape && param->input_dim_size() > 0) {
    ThrowError(origin, ": net '", param->name(), "' gives both input_shape and input_dim; "
               "use one");
  }
  if (by_shape && param->input_shape_size() != inputs && param->input_shape_size() != 1) {
    ThrowError(origin, ": net '", param->name(), "' lists ", inputs, " inputs but ",
               param->input_shape_size(), " input_shape entries");
  }
  if (!by_shape && param->input_dim_size() != 4 * inputs) {
    ThrowError(origin, ": net '", param->name(), "' lists ", inputs, " inputs, which need ",
               4 * inputs, " input_dim values (four per input), but has ",
               param->input_dim_size());
  }
  LayerParameter input;
  input.set_name("input");
  input.set_type("Input");
  for (int i = 0; i < inputs; ++i) {
    input.add_top(param->input(i));
    caffe::BlobShape* shape = input.mutable_input_param()->add_shape();
    if (by_shape) {
      shape->CopyFrom(param->input_shape(param->input_shape_size() == 1 ? 0 : i));
    } else {
      for (int d = 0; d < 4; ++d) shape->add_dim(param->input_dim(4 * i + d));
    }
  }
  NetParameter converted(*param);
  converted.clear_input();
  converted.clear_input_dim();
  converted.clear_input_shape();
  converted.clear_layer();
  converted.add_layer()->CopyFrom(input);
  for (const auto& layer : param->layer()) converted.add_layer()->CopyFrom(layer);
  *param = converted;
}

bool UpgradeNetAsNeeded(const std::string& origin, NetParameter* param) {
  bool upgraded = false;
  if (NetNeedsV0ToV1Upgrade(*param)) {
    LOG(INFO) << origin << ": upgrading V0 net (layers { layer {} }) to V1";
    UpgradeV0Net(origin, param);
    upgraded = true;
  }
  if (NetNeedsV1ToV2Upgrade(*param)) {
    LOG(INFO) << origin << ": upgrading V1 net (layers { type: ENUM }) to the current format";
    UpgradeV1Net(origin, param);
    upgraded = true;
  }
  if (NetNeedsDataUpgrade(*param)) {
    LOG(INFO) << origin << ": moving data-layer pre-processing fields into transform_param";
    UpgradeNetDataTransformation(origin, param);
    upgraded = true;
  }
  if (NetNeedsInputUpgrade(*param)) {
    UpgradeNetInput(origin, param);
    // Deploy nets declare inputs this way routinely; no need to announce it.
    VLOG(1) << origin << ": converted net-level inputs into an Input layer";
    upgraded = true;
  }
  return upgraded;
}

bool SolverNeedsTypeUpgrade(const caffe::SolverParameter& param) {
  return param.has_solver_type();
}

bool UpgradeSolverAsNeeded(const std::string& origin, caffe::SolverParameter* param) {
  if (!SolverNeedsTypeUpgrade(*param)) return false;
  static const char* kNames[] = {"SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam"};
  const std::string legacy = kNames[param->solver_type()];
  if (param->has_type() && param->type() != legacy) {
    ThrowError(origin, ": solver_type (", legacy, ") and type (", param->type(),
               ") disagree; keep only `type`");
  }
  LOG(INFO) << origin << ": upgrading legacy solver_type to type: \"" << legacy << "\"";
  param->set_type(legacy);
  param->clear_solver_type();
  return true;
}

}  // namespace cortado
