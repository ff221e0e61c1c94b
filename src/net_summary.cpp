// Summaries of built nets for `cortado check`: shapes, parameters, MACs,
// blob memory with and without lifetime planning, and weights that fit.
#include "cortado/net_summary.hpp"

#include "cortado/blob_memory_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "cortado/net.hpp"
#include "cortado/upgrade.hpp"

namespace cortado {
namespace {

constexpr int64_t kFloatBytes = sizeof(float);

// The window of a Pooling layer, in input elements per output element.
int64_t PoolingWindow(const caffe::PoolingParameter& p, const Blob& bottom) {
  if (p.global_pooling()) return bottom.num_axes() > 2 ? bottom.count(2) : 1;
  const int64_t kh = p.has_kernel_h() ? p.kernel_h() : p.kernel_size();
  const int64_t kw = p.has_kernel_w() ? p.kernel_w() : p.kernel_size();
  return kh * kw;
}

int64_t LayerMacs(const Layer& layer, const BlobVec& bottom, const BlobVec& top) {
  const std::string type = layer.type();
  const auto& blobs = layer.blobs();
  if (type == "Convolution" || type == "InnerProduct") {
    // Every output value sums (inputs per group x window) products: the
    // weights per output channel.
    const int64_t outputs = type == "Convolution"
                                ? layer.layer_param().convolution_param().num_output()
                                : layer.layer_param().inner_product_param().num_output();
    if (blobs.empty() || outputs == 0 || top.empty()) return 0;
    return top[0]->count() * (blobs[0]->count() / outputs);
  }
  if (type == "Deconvolution") {
    // The transpose: every input value scatters into (outputs per group x
    // window) products; the weights are [inputs, outputs / group, window].
    if (blobs.empty() || bottom.empty() || blobs[0]->shape(0) == 0) return 0;
    return bottom[0]->count() * (blobs[0]->count() / blobs[0]->shape(0));
  }
  if (top.empty()) return 0;
  if (type == "Pooling") {
    return top[0]->count() * PoolingWindow(layer.layer_param().pooling_param(), *bottom[0]);
  }
  if (type == "Eltwise") return top[0]->count() * std::max<int64_t>(1, bottom.size() - 1);
  static const std::set<std::string> per_output = {
      "ReLU",  "PReLU",     "ELU",   "Sigmoid", "TanH",  "Swish", "Clip",  "AbsVal",
      "BNLL",  "Power",     "Exp",   "Log",     "Scale", "Bias",  "BatchNorm", "LRN",
      "MVN",   "Softmax",   "Normalize", "Threshold", "Dropout"};
  if (per_output.count(type)) return top[0]->count();
  return 0;
}

// Layers whose tops view their bottom's storage rather than owning one.
bool SharesData(const std::string& type) {
  return type == "Split" || type == "Flatten" || type == "Reshape";
}
bool SharesDiff(const std::string& type) { return type == "Flatten" || type == "Reshape"; }

void AppendJsonString(const std::string& text, std::ostringstream* out) {
  *out << '"';
  for (char c : text) {
    switch (c) {
      case '"': *out << "\\\""; break;
      case '\\': *out << "\\\\"; break;
      case '\n': *out << "\\n"; break;
      case '\t': *out << "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
          *out << escaped;
        } else {
          *out << c;
        }
    }
  }
  *out << '"';
}

void AppendJsonStrings(const std::vector<std::string>& items, std::ostringstream* out) {
  *out << '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) *out << ',';
    AppendJsonString(items[i], out);
  }
  *out << ']';
}

std::string ShapeText(const std::vector<int>& shape) {
  std::string text;
  for (int d : shape) text += (text.empty() ? "" : " ") + std::to_string(d);
  return text;
}

// JSON null for a total that was not computed (-1).
std::string OrNull(int64_t bytes) { return bytes < 0 ? "null" : std::to_string(bytes); }

}  // namespace

NetSummary SummarizeNet(const Net& net) {
  NetSummary summary;
  summary.name = net.name();
  summary.phase = net.phase();
  const int n = static_cast<int>(net.layers().size());
  const auto& blob_names = net.blob_names();
  for (int i = 0; i < n; ++i) {
    const Layer& layer = *net.layers()[i];
    LayerSummary entry;
    entry.name = net.layer_names()[i];
    entry.type = layer.type();
    for (int id : net.bottom_ids()[i]) entry.bottoms.push_back(blob_names[id]);
    for (size_t t = 0; t < net.top_ids()[i].size(); ++t) {
      const int id = net.top_ids()[i][t];
      entry.tops.push_back(blob_names[id]);
      entry.top_shapes.push_back(net.top_vecs()[i][t]->shape());
      const auto& bottoms = net.bottom_ids()[i];
      if (std::find(bottoms.begin(), bottoms.end(), id) != bottoms.end()) entry.in_place = true;
    }
    for (const auto& blob : layer.blobs()) entry.params += blob->count();
    entry.macs = LayerMacs(layer, net.bottom_vecs()[i], net.top_vecs()[i]);
    summary.total_macs += entry.macs;
    summary.layers.push_back(std::move(entry));
  }
  // Shared parameters (param { name: ... }) are distinct Blobs viewing one
  // storage: count each storage once.
  std::set<const void*> storages;
  for (const Blob* p : net.params()) {
    if (storages.insert(p->data_memory().get()).second) summary.param_count += p->count();
  }
  summary.param_bytes = summary.param_count * kFloatBytes;

  // Blob lifetimes in layer steps: written by its first producer (net
  // inputs at step 0), read last by its last reader; net outputs are read
  // after the last layer.
  const int num_blobs = static_cast<int>(blob_names.size());
  std::vector<int> first(num_blobs, -1), last(num_blobs, 0), alias(num_blobs, -1);
  std::vector<bool> diff_alias(num_blobs, false);
  for (int id : net.input_blob_indices()) first[id] = 0;
  for (int i = 0; i < n; ++i) {
    for (int id : net.bottom_ids()[i]) {
      if (first[id] < 0) first[id] = i;
      last[id] = std::max(last[id], i);
    }
    const std::string type = net.layers()[i]->type();
    for (int id : net.top_ids()[i]) {
      if (first[id] < 0) first[id] = i;
      last[id] = std::max(last[id], i);
      const auto& bottoms = net.bottom_ids()[i];
      // A view's storage is its bottom's (single-top Slice too, but rare).
      if (SharesData(type) && !bottoms.empty() && bottoms[0] != id && alias[id] < 0) {
        alias[id] = bottoms[0];
        diff_alias[id] = SharesDiff(type);
      }
    }
  }
  for (int id : net.output_blob_indices()) last[id] = n;
  // PlanMemory wants an alias's root earlier in the list; blob ids follow
  // creation order, and a view is always created after what it views.
  for (int id = 0; id < num_blobs; ++id) {
    BufferUse use;
    use.name = blob_names[id];
    use.bytes = net.blobs()[id]->count() * kFloatBytes;
    use.first_use = std::max(first[id], 0);
    use.last_use = std::max(last[id], use.first_use);
    use.alias_of = alias[id];
    summary.inference_buffers.push_back(use);
    if (!diff_alias[id]) summary.training_unplanned_bytes += use.bytes;  // the diff
  }
  summary.inference_plan = PlanMemory(summary.inference_buffers);
  summary.inference_unplanned_bytes = summary.inference_plan.unplanned_bytes;
  summary.inference_planned_bytes = summary.inference_plan.arena_bytes;
  summary.inference_live_peak_bytes = summary.inference_plan.live_peak_bytes;
  summary.training_unplanned_bytes += summary.inference_unplanned_bytes;  // the data
  return summary;
}

void AddTrainingPlan(const Net& training_net, NetSummary* summary) {
  const BlobMemoryPlan plan = PlanBlobMemory(training_net, {});
  if (!plan.training) ThrowError("net '", training_net.name(), "' runs no backward pass");
  summary->training_touched_bytes = plan.unplanned_bytes;
  summary->training_planned_bytes = plan.planned_bytes();
  const BlobMemoryPlan again = PlanBlobMemory(training_net, {}, /*recompute=*/true);
  summary->training_recompute_planned_bytes = again.planned_bytes();
  summary->training_recomputed_layers = 0;
  for (const Recomputation& recomputation : again.recomputations) {
    summary->training_recomputed_layers += 1 + static_cast<int>(recomputation.then_in_place.size());
  }
}

void SetBatchSize(int batch, caffe::NetParameter* param) {
  if (batch <= 0) ThrowError("batch size ", batch, " must be positive");
  for (int i = 0; i < param->input_shape_size(); ++i) {
    if (param->input_shape(i).dim_size() > 0) param->mutable_input_shape(i)->set_dim(0, batch);
  }
  for (int i = 0; i < param->input_dim_size(); i += 4) param->set_input_dim(i, batch);
  for (caffe::LayerParameter& layer : *param->mutable_layer()) {
    if (layer.has_input_param()) {
      for (caffe::BlobShape& shape : *layer.mutable_input_param()->mutable_shape()) {
        if (shape.dim_size() > 0) shape.set_dim(0, batch);
      }
    }
    if (layer.has_data_param()) layer.mutable_data_param()->set_batch_size(batch);
    if (layer.has_image_data_param()) layer.mutable_image_data_param()->set_batch_size(batch);
    if (layer.has_hdf5_data_param()) layer.mutable_hdf5_data_param()->set_batch_size(batch);
    if (layer.has_memory_data_param()) layer.mutable_memory_data_param()->set_batch_size(batch);
    if (layer.has_window_data_param()) layer.mutable_window_data_param()->set_batch_size(batch);
    if (layer.has_dummy_data_param()) {
      caffe::DummyDataParameter* dummy = layer.mutable_dummy_data_param();
      for (caffe::BlobShape& shape : *dummy->mutable_shape()) {
        if (shape.dim_size() > 0) shape.set_dim(0, batch);
      }
      for (int j = 0; j < dummy->num_size(); ++j) dummy->set_num(j, batch);
    }
  }
}

WeightsReport CheckWeights(const Net& net, const caffe::NetParameter& in_weights) {
  caffe::NetParameter weights(in_weights);
  if (NetNeedsUpgrade(weights)) UpgradeNetAsNeeded("weights", &weights);
  WeightsReport report;
  std::set<std::string> in_file;
  for (const caffe::LayerParameter& source : weights.layer()) {
    if (source.blobs_size() == 0) continue;
    in_file.insert(source.name());
    const Layer* target = net.layer_by_name(source.name());
    if (!target) {
      report.skipped.push_back(source.name());
      continue;
    }
    const auto& blobs = target->blobs();
    bool fits = true;
    if (static_cast<int>(blobs.size()) != source.blobs_size()) {
      report.errors.push_back("layer '" + source.name() + "' (" + target->type() +
                              "): the weights have " + std::to_string(source.blobs_size()) +
                              " parameter blobs but the net expects " +
                              std::to_string(blobs.size()));
      continue;
    }
    for (int j = 0; j < source.blobs_size(); ++j) {
      if (blobs[j]->ShapeEquals(source.blobs(j))) continue;
      fits = false;
      report.errors.push_back("layer '" + source.name() + "' (" + target->type() +
                              ") parameter " + std::to_string(j) + ": the weights have shape " +
                              ShapeText(Blob::ProtoShape(source.blobs(j))) +
                              " but the net expects " + blobs[j]->shape_string());
    }
    if (fits) ++report.matched;
  }
  for (size_t i = 0; i < net.layers().size(); ++i) {
    const Layer& layer = *net.layers()[i];
    if (layer.blobs().empty() || in_file.count(net.layer_names()[i])) continue;
    report.errors.push_back("layer '" + net.layer_names()[i] + "' (" + layer.type() +
                            ") has parameters but the weights have none for it");
  }
  return report;
}

std::string NetSummaryToJson(const NetSummary& s, const WeightsReport* weights) {
  std::ostringstream out;
  out << "{\"name\":";
  AppendJsonString(s.name, &out);
  out << ",\"phase\":\"" << caffe::Phase_Name(s.phase) << "\",\"layers\":[";
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerSummary& l = s.layers[i];
    if (i) out << ',';
    out << "{\"name\":";
    AppendJsonString(l.name, &out);
    out << ",\"type\":";
    AppendJsonString(l.type, &out);
    out << ",\"bottoms\":";
    AppendJsonStrings(l.bottoms, &out);
    out << ",\"tops\":";
    AppendJsonStrings(l.tops, &out);
    out << ",\"top_shapes\":[";
    for (size_t t = 0; t < l.top_shapes.size(); ++t) {
      if (t) out << ',';
      out << '[';
      for (size_t d = 0; d < l.top_shapes[t].size(); ++d) {
        out << (d ? "," : "") << l.top_shapes[t][d];
      }
      out << ']';
    }
    out << "],\"in_place\":" << (l.in_place ? "true" : "false") << ",\"params\":" << l.params
        << ",\"macs\":" << l.macs << '}';
  }
  out << "],\"param_count\":" << s.param_count << ",\"param_bytes\":" << s.param_bytes
      << ",\"total_macs\":" << s.total_macs
      << ",\"inference_unplanned_bytes\":" << s.inference_unplanned_bytes
      << ",\"inference_planned_bytes\":" << s.inference_planned_bytes
      << ",\"inference_live_peak_bytes\":" << s.inference_live_peak_bytes
      << ",\"training_unplanned_bytes\":" << s.training_unplanned_bytes
      << ",\"training_touched_bytes\":" << OrNull(s.training_touched_bytes)
      << ",\"training_planned_bytes\":" << OrNull(s.training_planned_bytes)
      << ",\"training_recompute_planned_bytes\":" << OrNull(s.training_recompute_planned_bytes)
      << ",\"training_recomputed_layers\":" << s.training_recomputed_layers;
  if (weights) {
    out << ",\"weights\":{\"matched\":" << weights->matched << ",\"errors\":";
    AppendJsonStrings(weights->errors, &out);
    out << ",\"skipped\":";
    AppendJsonStrings(weights->skipped, &out);
    out << '}';
  }
  out << '}';
  return out.str();
}

std::string HumanBytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.2f %s", value, units[unit]);
  return text;
}

std::string HumanCount(int64_t count) {
  const char* units[] = {"", " K", " M", " G", " T"};
  double value = static_cast<double>(count);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f%s" : "%.2f%s", value, units[unit]);
  return text;
}

}  // namespace cortado
