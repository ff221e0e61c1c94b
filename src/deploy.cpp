// The deploy rewrite: a TEST net without data layers, labels, Dropout or
// BatchNorm/Scale, with folded weights and in-place element-wise layers,
// in fields BVLC Caffe and OpenCV's importer read.
#include "cortado/deploy.hpp"

#include <algorithm>
#include <set>

#include "cortado/blob.hpp"
#include "cortado/inference_fusion.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "cortado/net_summary.hpp"
#include "cortado/stub_data.hpp"

namespace cortado {
namespace {

using LayerList = std::vector<caffe::LayerParameter>;

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& names,
              const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Layers that only score against labels or discard their input.
bool IsTrainingOnly(const std::string& type) {
  return EndsWith(type, "Loss") || type == "Accuracy" || type == "Silence";
}

// Layers that compute each output value from the same input value only, so
// that they may overwrite their input (Caffe and OpenCV run them in place).
bool CanRunInPlace(const std::string& type) {
  static const std::set<std::string> types = {"ReLU",  "PReLU", "ELU",  "Sigmoid", "TanH",
                                              "AbsVal", "BNLL", "Power", "Clip",   "Swish",
                                              "BatchNorm", "Scale"};
  return types.count(type) > 0;
}

// Renames blob `from` to `to` in layers [start, end): every bottom, and
// every top written in place; stops after a layer writes `from` afresh.
void RenameFrom(size_t start, const std::string& from, const std::string& to, LayerList* layers) {
  for (size_t k = start; k < layers->size(); ++k) {
    caffe::LayerParameter& layer = (*layers)[k];
    const bool reads = Contains(layer.bottom(), from);
    for (std::string& bottom : *layer.mutable_bottom()) {
      if (bottom == from) bottom = to;
    }
    bool rewrites = false;
    for (std::string& top : *layer.mutable_top()) {
      if (top != from) continue;
      if (reads) {
        top = to;
      } else {
        rewrites = true;
      }
    }
    if (rewrites) return;
  }
}

// The layers after `after` that read this value of `blob`: up to and
// including the next layer that writes it.
std::vector<size_t> Readers(const LayerList& layers, size_t after, const std::string& blob) {
  std::vector<size_t> readers;
  for (size_t k = after + 1; k < layers.size(); ++k) {
    if (Contains(layers[k].bottom(), blob)) readers.push_back(k);
    if (Contains(layers[k].top(), blob)) break;
  }
  return readers;
}

bool AppearsFrom(const LayerList& layers, size_t start, const std::string& blob) {
  for (size_t k = start; k < layers.size(); ++k) {
    if (Contains(layers[k].bottom(), blob) || Contains(layers[k].top(), blob)) return true;
  }
  return false;
}

// The output channels of a head whose channel axis is 1; 0 when its kind
// or layout cannot take a per-channel fold.
int FoldableChannels(const caffe::LayerParameter& layer, const Layer& built) {
  if (layer.bottom_size() != 1 || layer.top_size() != 1 || built.blobs().empty()) return 0;
  if (layer.bottom(0) == layer.top(0)) return 0;
  if (layer.type() == "Convolution") {
    const caffe::ConvolutionParameter& p = layer.convolution_param();
    if (p.axis() != 1) return 0;
    return static_cast<int>(p.num_output());
  }
  if (layer.type() == "InnerProduct") {
    const caffe::InnerProductParameter& p = layer.inner_product_param();
    if (p.axis() != 1) return 0;
    return static_cast<int>(p.num_output());
  }
  return 0;
}

// Whether `layer` is an affine map per channel of a `channels`-channel
// blob that FoldAffineLayers knows: BatchNorm with stored statistics, or a
// learned Scale over axis 1 alone.
bool IsFoldableAffine(const caffe::LayerParameter& layer, const Layer& built, int channels) {
  if (layer.bottom_size() != 1 || layer.top_size() != 1) return false;
  if (layer.type() == "BatchNorm") {
    const caffe::BatchNormParameter& p = layer.batch_norm_param();
    return (!p.has_use_global_stats() || p.use_global_stats()) && built.blobs().size() == 3 &&
           built.blobs()[0]->count() == channels;
  }
  if (layer.type() == "Scale") {
    const caffe::ScaleParameter& p = layer.scale_param();
    return p.axis() == 1 && built.blobs().size() == (p.bias_term() ? 2u : 1u) &&
           built.blobs()[0]->shape() == std::vector<int>{channels};
  }
  return false;
}

// Phase rules, learning-rate specs, loss weights and Cortado-only fields
// mean nothing (or nothing to BVLC Caffe) in a deployed net.
void MakePlain(caffe::LayerParameter* layer) {
  layer->clear_phase();
  layer->clear_include();
  layer->clear_exclude();
  layer->clear_param();
  layer->clear_propagate_down();
  layer->clear_loss_weight();
  layer->clear_blobs();
  if (layer->has_pooling_param() && layer->pooling_param().has_ceil_mode()) {
    caffe::PoolingParameter* p = layer->mutable_pooling_param();
    p->set_round_mode(p->ceil_mode() ? caffe::PoolingParameter::CEIL
                                     : caffe::PoolingParameter::FLOOR);
    p->clear_ceil_mode();
    if (p->round_mode() == caffe::PoolingParameter::CEIL) p->clear_round_mode();
  }
}

}  // namespace

caffe::NetParameter WithoutBlobs(const caffe::NetParameter& net) {
  caffe::NetParameter plain(net);
  for (caffe::LayerParameter& layer : *plain.mutable_layer()) layer.clear_blobs();
  return plain;
}

DeployResult DeployNet(const std::string& model, const std::vector<std::string>& weights,
                       const DeployOptions& options) {
  DeployResult result;
  caffe::NetParameter read;
  ReadNetParamsFromTextFile(model, &read);
  read.mutable_state()->set_phase(caffe::TEST);
  read.mutable_state()->set_level(options.level);
  read.mutable_state()->clear_stage();
  for (const std::string& stage : options.stages) read.mutable_state()->add_stage(stage);
  caffe::NetParameter test;
  Net::FilterNet(read, &test);
  if (options.batch > 0) SetBatchSize(options.batch, &test);
  StubDataOptions stub;
  stub.force = true;
  stub.batch_size = options.batch;
  stub.item_shapes = options.item_shapes;
  std::vector<StubbedLayer> stubbed;
  try {
    stubbed = StubDataSources(&test, stub);
  } catch (const Error& e) {
    ThrowError(model, ": ", e.what());
  }
  result.original = std::make_unique<Net>(test, model);
  result.original->CopyTrainedLayersFrom(weights, Net::MissingWeights::kError);
  const Net& net = *result.original;

  // Data layers keep their first top; the rest (labels) are gone, and so
  // is every layer that needs them.
  std::set<std::string> gone;
  std::set<std::string> data_layers;
  for (const StubbedLayer& s : stubbed) data_layers.insert(s.name);
  LayerList layers;
  std::set<std::string> tops_in_use;
  for (const caffe::LayerParameter& layer : test.layer()) {
    for (const std::string& top : layer.top()) tops_in_use.insert(top);
  }
  for (const caffe::LayerParameter& in : test.layer()) {
    caffe::LayerParameter layer = in;
    if (data_layers.count(layer.name()) && layer.top_size() > 1) {
      for (int t = 1; t < layer.top_size(); ++t) gone.insert(layer.top(t));
      caffe::InputParameter* input = layer.mutable_input_param();
      while (input->shape_size() > 1) input->mutable_shape()->RemoveLast();
      while (layer.top_size() > 1) layer.mutable_top()->RemoveLast();
      result.changes.push_back("data layer '" + layer.name() + "' -> Input '" + layer.top(0) +
                               "' (labels dropped)");
    }
    bool needs_gone = false;
    for (const std::string& bottom : layer.bottom()) needs_gone |= gone.count(bottom) > 0;
    if (layer.type() == "SoftmaxWithLoss" && layer.bottom_size() >= 1 &&
        !gone.count(layer.bottom(0))) {
      // The classifier's probabilities: what a deploy net reports.
      std::string top = "prob";
      if (tops_in_use.count(top)) top = layer.name() + "_prob";
      caffe::LayerParameter softmax;
      softmax.set_name(layer.name());
      softmax.set_type("Softmax");
      softmax.add_bottom(layer.bottom(0));
      softmax.add_top(top);
      if (layer.has_softmax_param()) *softmax.mutable_softmax_param() = layer.softmax_param();
      for (const std::string& t : layer.top()) gone.insert(t);
      result.changes.push_back("SoftmaxWithLoss '" + layer.name() + "' -> Softmax '" + top + "'");
      layers.push_back(softmax);
      continue;
    }
    if (needs_gone || IsTrainingOnly(layer.type())) {
      for (const std::string& t : layer.top()) gone.insert(t);
      result.changes.push_back("removed " + layer.type() + " '" + layer.name() + "'");
      ++result.removed;
      continue;
    }
    if (layer.type() == "Dropout") {
      if (layer.bottom_size() != 1 || layer.top_size() != 1) {
        ThrowError(model, ": layer '", layer.name(), "' (Dropout) needs one bottom and one top");
      }
      // Its readers read its input instead.
      if (layer.top(0) != layer.bottom(0)) {
        layers.push_back(layer);
        layers.back().set_type("__dropped__");
      } else {
        result.changes.push_back("removed Dropout '" + layer.name() + "'");
        ++result.removed;
      }
      continue;
    }
    layers.push_back(layer);
  }
  // Non-in-place Dropouts: readers take the Dropout's bottom.
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].type() != "__dropped__") continue;
    RenameFrom(i + 1, layers[i].top(0), layers[i].bottom(0), &layers);
    result.changes.push_back("removed Dropout '" + layers[i].name() + "'");
    ++result.removed;
    layers.erase(layers.begin() + i);
    --i;
  }

  // Fold BatchNorm/Scale into the Convolution or InnerProduct before them.
  std::map<std::string, std::pair<std::unique_ptr<Blob>, std::unique_ptr<Blob>>> folded;
  std::vector<bool> drop(layers.size(), false);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (drop[i]) continue;
    const Layer* head = net.layer_by_name(layers[i].name());
    if (!head) continue;
    const int channels = FoldableChannels(layers[i], *head);
    if (channels == 0) continue;
    std::vector<const Layer*> affine;
    std::string current = layers[i].top(0);
    size_t last = i;
    while (true) {
      const std::vector<size_t> readers = Readers(layers, last, current);
      if (readers.size() != 1) break;
      const caffe::LayerParameter& next = layers[readers[0]];
      const Layer* built = net.layer_by_name(next.name());
      if (!built || !IsFoldableAffine(next, *built, channels)) break;
      affine.push_back(built);
      drop[readers[0]] = true;
      result.changes.push_back("folded " + next.type() + " '" + next.name() + "' into '" +
                               layers[i].name() + "'");
      ++result.folded;
      last = readers[0];
      current = next.top(0);
    }
    if (affine.empty()) continue;
    // The head now writes what the last folded layer wrote.
    layers[i].set_top(0, current);
    auto weights_blob = std::make_unique<Blob>();
    auto bias_blob = std::make_unique<Blob>();
    FoldAffineLayers(*head, affine, weights_blob.get(), bias_blob.get());
    if (layers[i].type() == "Convolution") {
      layers[i].mutable_convolution_param()->set_bias_term(true);
    } else {
      layers[i].mutable_inner_product_param()->set_bias_term(true);
    }
    folded[layers[i].name()] = {std::move(weights_blob), std::move(bias_blob)};
  }
  LayerList kept;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!drop[i]) kept.push_back(std::move(layers[i]));
  }
  layers = std::move(kept);

  // In place where nothing else reads the input: one buffer, not two.
  for (size_t i = 0; i < layers.size(); ++i) {
    caffe::LayerParameter& layer = layers[i];
    if (!CanRunInPlace(layer.type()) || layer.bottom_size() != 1 || layer.top_size() != 1) continue;
    const std::string bottom = layer.bottom(0), top = layer.top(0);
    if (bottom == top) continue;
    // The input must have no other reader and not be used afterwards; the
    // output must be read later (a net output keeps its name).
    bool other_reader = false;
    for (size_t k = 0; k < layers.size(); ++k) {
      if (k != i && Contains(layers[k].bottom(), bottom)) other_reader = true;
    }
    if (other_reader || AppearsFrom(layers, i + 1, bottom)) continue;
    if (Readers(layers, i, top).empty()) continue;
    bool is_input = false;  // Input layers' tops are what callers fill
    for (size_t k = 0; k < i; ++k) {
      if (layers[k].type() == "Input" && Contains(layers[k].top(), bottom)) is_input = true;
    }
    if (is_input) continue;
    layer.set_top(0, bottom);
    RenameFrom(i + 1, top, bottom, &layers);
    result.changes.push_back(layer.type() + " '" + layer.name() + "' in place on '" + bottom +
                             "'");
    ++result.made_in_place;
  }

  // The net, plain, with each layer's weights.
  caffe::NetParameter& out = result.net;
  out.set_name(read.name());
  for (caffe::LayerParameter& layer : layers) {
    MakePlain(&layer);
    auto it = folded.find(layer.name());
    if (it != folded.end()) {
      it->second.first->ToProto(layer.add_blobs());
      it->second.second->ToProto(layer.add_blobs());
    } else if (const Layer* built = net.layer_by_name(layer.name())) {
      if (layer.type() == built->type()) {
        for (const auto& blob : built->blobs()) blob->ToProto(layer.add_blobs());
      }
    }
    *out.add_layer() = std::move(layer);
  }
  return result;
}

}  // namespace cortado
