// Net construction (filtering, splits, blob wiring, parameter sharing,
// backward-need analysis) and the forward/backward loops.
#include "cortado/net.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <new>
#include <set>

#include "cortado/hdf5.hpp"
#include "cortado/inference_fusion.hpp"
#include "cortado/io.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "cortado/upgrade.hpp"

namespace cortado {
namespace {

std::string SplitLayerName(const std::string& layer, const std::string& blob, int top) {
  return StrCat(blob, "_", layer, "_", top, "_split");
}

std::string SplitBlobName(const std::string& layer, const std::string& blob, int top,
                          int split) {
  return StrCat(blob, "_", layer, "_", top, "_split_", split);
}

// Rethrows e prefixed with origin (when given) and the layer's name (unless
// the message names it already, as most layers' own errors do).
[[noreturn]] void ThrowNamingLayer(const Error& e, const std::string& origin,
                                   const std::string& layer_name) {
  const std::string layer = StrCat("layer '", layer_name, "'");
  const std::string what = e.what();
  ThrowError(origin.empty() ? "" : origin + ": ",
             what.find(layer) == std::string::npos ? layer + ": " : "", what);
}

// Blob storage reports its own allocation failures with the byte count
// (SyncedMemory); this covers a layer's other buffers (columns, masks),
// naming the layer and the size of what it was computing.
[[noreturn]] void ThrowOutOfMemory(const std::string& origin, const std::string& layer_name,
                                   const BlobVec& top) {
  std::string tops;
  for (const Blob* t : top) {
    tops += StrCat(tops.empty() ? "" : ", ", t->shape_string(), " = ",
                   t->count() * int64_t(sizeof(float)), " bytes");
  }
  ThrowError(origin.empty() ? "" : origin + ": ", "layer '", layer_name,
             "': out of memory (std::bad_alloc) for its buffers; its tops: ",
             tops.empty() ? "none" : tops);
}

}  // namespace

Net::Net(const caffe::NetParameter& param, const std::string& origin) : origin_(origin) {
  if (origin_.empty()) {
    Init(param);
    return;
  }
  try {
    Init(param);
  } catch (const Error& e) {
    ThrowError(origin_, ": ", e.what());
  }
}

Net::~Net() = default;

Net::Net(const std::string& prototxt_path, caffe::Phase phase, int level,
         const std::vector<std::string>& stages)
    : origin_(prototxt_path) {
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(prototxt_path, &param);
  param.mutable_state()->set_phase(phase);
  param.mutable_state()->set_level(level);
  for (const std::string& stage : stages) param.mutable_state()->add_stage(stage);
  try {
    Init(param);
  } catch (const Error& e) {
    ThrowError(prototxt_path, ": ", e.what());
  }
}

bool Net::StateMeetsRule(const caffe::NetState& state, const caffe::NetStateRule& rule,
                         const std::string& layer_name) {
  if (rule.has_phase() && rule.phase() != state.phase()) return false;
  if (rule.has_min_level() && state.level() < rule.min_level()) return false;
  if (rule.has_max_level() && state.level() > rule.max_level()) return false;
  std::set<std::string> stages(state.stage().begin(), state.stage().end());
  for (const std::string& s : rule.stage()) {
    if (!stages.count(s)) return false;
  }
  for (const std::string& s : rule.not_stage()) {
    if (stages.count(s)) return false;
  }
  return true;
}

void Net::FilterNet(const caffe::NetParameter& param, caffe::NetParameter* filtered) {
  const caffe::NetState& state = param.state();
  filtered->CopyFrom(param);
  filtered->clear_layer();
  for (const caffe::LayerParameter& layer : param.layer()) {
    if (layer.include_size() > 0 && layer.exclude_size() > 0) {
      ThrowError("layer '", layer.name(), "' has both include and exclude rules; use one");
    }
    bool keep = layer.include_size() == 0;
    for (const auto& rule : layer.exclude()) {
      if (StateMeetsRule(state, rule, layer.name())) keep = false;
    }
    for (const auto& rule : layer.include()) {
      if (StateMeetsRule(state, rule, layer.name())) keep = true;
    }
    if (keep) filtered->add_layer()->CopyFrom(layer);
  }
}

void Net::InsertSplits(const caffe::NetParameter& param, caffe::NetParameter* split) {
  // Count the readers of every (layer, top) output; a top that carries a
  // loss counts as one reader more, since the loss reads it too.
  std::map<std::string, std::pair<int, int>> producer;
  std::map<std::pair<int, int>, int> readers;
  std::map<std::pair<int, int>, float> loss_weight;
  std::vector<std::vector<std::pair<int, int>>> bottom_source(param.layer_size());
  for (int i = 0; i < param.layer_size(); ++i) {
    const caffe::LayerParameter& layer = param.layer(i);
    for (int b = 0; b < layer.bottom_size(); ++b) {
      auto it = producer.find(layer.bottom(b));
      if (it == producer.end()) {
        bottom_source[i].push_back({-1, -1});  // reported when the net is wired
        continue;
      }
      bottom_source[i].push_back(it->second);
      ++readers[it->second];
    }
    for (int t = 0; t < layer.top_size(); ++t) {
      producer[layer.top(t)] = {i, t};
      if (t < layer.loss_weight_size() && layer.loss_weight(t) != 0) {
        loss_weight[{i, t}] = layer.loss_weight(t);
        ++readers[{i, t}];
      }
    }
  }
  split->CopyFrom(param);
  split->clear_layer();
  std::map<std::pair<int, int>, int> next_split;
  for (int i = 0; i < param.layer_size(); ++i) {
    caffe::LayerParameter* layer = split->add_layer();
    layer->CopyFrom(param.layer(i));
    for (int b = 0; b < layer->bottom_size(); ++b) {
      const auto source = bottom_source[i][b];
      if (source.first < 0 || readers[source] <= 1) continue;
      const auto& from = param.layer(source.first);
      layer->set_bottom(b, SplitBlobName(from.name(), from.top(source.second),
                                         source.second, next_split[source]++));
    }
    for (int t = 0; t < layer->top_size(); ++t) {
      const std::pair<int, int> key{i, t};
      if (readers[key] <= 1) continue;
      caffe::LayerParameter* splitter = split->add_layer();
      const std::string& blob = layer->top(t);
      splitter->set_name(SplitLayerName(layer->name(), blob, t));
      splitter->set_type("Split");
      splitter->add_bottom(blob);
      for (int k = 0; k < readers[key]; ++k) {
        splitter->add_top(SplitBlobName(layer->name(), blob, t, k));
        if (loss_weight.count(key)) {
          splitter->add_loss_weight(k == 0 ? loss_weight[key] : 0.f);
        }
      }
      if (loss_weight.count(key)) {
        layer->set_loss_weight(t, 0.f);
        // The loss is read from split top 0; skip it when numbering readers.
        next_split[key] = 1;
      }
    }
  }
}

void Net::Init(const caffe::NetParameter& in_param) {
  // Nets built from a NetParameter (solvers embed them) may be legacy too.
  caffe::NetParameter with_inputs(in_param);
  UpgradeNetAsNeeded("net '" + in_param.name() + "'", &with_inputs);
  caffe::NetParameter filtered;
  FilterNet(with_inputs, &filtered);
  caffe::NetParameter param;
  InsertSplits(filtered, &param);
  name_ = param.name();
  phase_ = param.state().phase();
  debug_info_ = param.debug_info();
  fuse_inference_ = param.fuse_inference();
  plan_memory_requested_ = param.plan_memory();
  recompute_cheap_layers_ = param.recompute_cheap_layers();
  plan_memory_refused_ = param.has_plan_memory() && !param.plan_memory();

  std::map<std::string, int> blob_name_to_idx;
  std::map<std::string, int> available;  // produced, not yet consumed
  const int n = param.layer_size();
  bottom_vecs_.resize(n);
  top_vecs_.resize(n);
  bottom_id_vecs_.resize(n);
  top_id_vecs_.resize(n);
  bottom_need_backward_.resize(n);
  param_id_vecs_.resize(n);
  for (int layer_id = 0; layer_id < n; ++layer_id) {
    caffe::LayerParameter* layer_param = param.mutable_layer(layer_id);
    if (!layer_param->has_phase()) layer_param->set_phase(phase_);
    if (layer_param->propagate_down_size() > 0 &&
        layer_param->propagate_down_size() != layer_param->bottom_size()) {
      ThrowError("layer '", layer_param->name(), "' has ", layer_param->propagate_down_size(),
                 " propagate_down values for ", layer_param->bottom_size(), " bottoms");
    }
    layers_.push_back(LayerRegistry::Create(*layer_param));
    layer_names_.push_back(layer_param->name());
    layer_names_index_[layer_param->name()] = layer_id;
    bool need_backward = false;
    for (int b = 0; b < layer_param->bottom_size(); ++b) {
      int blob_id = AppendBottom(param, layer_id, b, &available, &blob_name_to_idx);
      need_backward |= blob_need_backward_[blob_id];
    }
    for (int t = 0; t < layer_param->top_size(); ++t) {
      AppendTop(param, layer_id, t, &blob_name_to_idx);
      available[layer_param->top(t)] = top_id_vecs_[layer_id].back();
    }
    Layer* layer = layers_[layer_id].get();
    if (layer->AutoTopBlobs()) {
      const int wanted = std::max(layer->MinTopBlobs(), layer->ExactNumTopBlobs());
      for (int t = layer_param->top_size(); t < wanted; ++t) {
        // Anonymous tops: the layer needs them but the prototxt named none.
        blobs_.push_back(std::make_unique<Blob>());
        blob_names_.push_back("");
        blob_need_backward_.push_back(false);
        top_vecs_[layer_id].push_back(blobs_.back().get());
        top_id_vecs_[layer_id].push_back(static_cast<int>(blobs_.size()) - 1);
      }
    }
    OfferSnapshots(layer_id);
    try {
      layer->SetUp(bottom_vecs_[layer_id], top_vecs_[layer_id]);
    } catch (const Error& e) {
      ThrowNamingLayer(e, "", layer_param->name());
    } catch (const std::bad_alloc&) {
      ThrowOutOfMemory("", layer_param->name(), top_vecs_[layer_id]);
    }
    for (size_t t = 0; t < top_id_vecs_[layer_id].size(); ++t) {
      const int blob_id = top_id_vecs_[layer_id][t];
      if (static_cast<int>(blob_loss_weights_.size()) <= blob_id) {
        blob_loss_weights_.resize(blob_id + 1, 0.f);
      }
      blob_loss_weights_[blob_id] = layer->loss(t);
      VLOG(1) << "Top shape " << blob_names_[blob_id] << ": "
              << top_vecs_[layer_id][t]->shape_string();
    }
    const int num_params = static_cast<int>(layer->blobs().size());
    if (layer_param->param_size() > num_params) {
      ThrowError("layer '", layer_param->name(), "' (", layer_param->type(), ") has ",
                 num_params, " parameter blob(s) but ", layer_param->param_size(),
                 " `param` specs");
    }
    for (int p = 0; p < num_params; ++p) {
      const bool learns = p >= layer_param->param_size() || layer_param->param(p).lr_mult() != 0;
      // A layer may itself have frozen a parameter (BatchNorm statistics).
      const bool allowed = layer->param_propagate_down(p);
      layer->set_param_propagate_down(p, learns && allowed);
      need_backward |= learns && allowed;
    }
    for (int p = 0; p < num_params; ++p) AppendParam(param, layer_id, p);
    layer_need_backward_.push_back(need_backward);
    for (int blob_id : top_id_vecs_[layer_id]) blob_need_backward_[blob_id] = need_backward;
  }

  // Walk backwards: a layer needs backward only if something it produces
  // reaches a loss, and a bottom only if its gradient is wanted upstream.
  std::set<std::string> blobs_under_loss;
  std::set<std::string> blobs_skip_backward;
  for (int layer_id = n - 1; layer_id >= 0; --layer_id) {
    bool contributes = false;
    bool skip_propagate = true;
    for (size_t t = 0; t < top_vecs_[layer_id].size(); ++t) {
      const std::string& name = blob_names_[top_id_vecs_[layer_id][t]];
      if (layers_[layer_id]->loss(t) != 0 || blobs_under_loss.count(name)) contributes = true;
      if (!blobs_skip_backward.count(name)) skip_propagate = false;
    }
    if (contributes && skip_propagate) contributes = false;
    if (!contributes) layer_need_backward_[layer_id] = false;
    for (size_t b = 0; b < bottom_vecs_[layer_id].size(); ++b) {
      const std::string& name = blob_names_[bottom_id_vecs_[layer_id][b]];
      if (contributes) {
        blobs_under_loss.insert(name);
      } else {
        bottom_need_backward_[layer_id][b] = false;
      }
      if (!bottom_need_backward_[layer_id][b]) blobs_skip_backward.insert(name);
    }
  }
  if (param.force_backward()) {
    for (int layer_id = 0; layer_id < n; ++layer_id) {
      layer_need_backward_[layer_id] = true;
      for (size_t b = 0; b < bottom_need_backward_[layer_id].size(); ++b) {
        bottom_need_backward_[layer_id][b] =
            bottom_need_backward_[layer_id][b] || layers_[layer_id]->AllowForceBackward(b);
        blob_need_backward_[bottom_id_vecs_[layer_id][b]] =
            blob_need_backward_[bottom_id_vecs_[layer_id][b]] ||
            bottom_need_backward_[layer_id][b];
      }
      for (size_t p = 0; p < layers_[layer_id]->blobs().size(); ++p) {
        layers_[layer_id]->set_param_propagate_down(p, true);
      }
    }
  }
  for (const auto& entry : available) {
    net_output_blobs_.push_back(blobs_[entry.second].get());
    net_output_blob_indices_.push_back(entry.second);
  }
  for (size_t i = 0; i < blob_names_.size(); ++i) blob_names_index_[blob_names_[i]] = i;
  TellLayersWhetherBackwardRuns();
  PlanFusion();
  LOG(INFO) << "Network '" << name_ << "' (" << caffe::Phase_Name(phase_) << "): " << n
            << " layers, " << blobs_.size() << " blobs, " << learnable_params_.size()
            << " learnable parameter blobs";
  if (plan_memory_requested_) set_plan_memory(true);
}

void Net::OfferSnapshots(int layer_id) {
  const BlobVec& bottoms = bottom_vecs_[layer_id];
  const BlobVec& tops = top_vecs_[layer_id];
  for (size_t k = 0; k < bottoms.size() && k < tops.size(); ++k) {
    Blob* blob = bottoms[k];
    if (tops[k] != blob || !blob->data_memory()) continue;  // in place only
    // The last earlier layer that wrote this storage, through any view: a
    // view's writer (an in-place layer on a Flatten's top) changed the
    // values after the snapshot was taken, so only the blob's own writer
    // counts.
    for (int i = layer_id - 1; i >= 0; --i) {
      const BlobVec& written = top_vecs_[i];
      const auto it = std::find_if(written.begin(), written.end(), [&](const Blob* top) {
        return top->data_memory() == blob->data_memory();
      });
      if (it == written.end()) continue;
      const Blob* snapshot =
          *it == blob ? layers_[i]->TopSnapshot(static_cast<int>(it - written.begin())) : nullptr;
      if (snapshot && layers_[layer_id]->UseBottomSnapshot(static_cast<int>(k), snapshot)) {
        borrowed_snapshots_.push_back({i, layer_id, snapshot});
      }
      break;
    }
  }
}

void Net::set_plan_memory(bool value) {
  plan_memory_requested_ = value;
  if (value && debug_info_) {
    LOG(INFO) << "Network '" << name_ << "': memory planning is off while debug_info reads "
                 "every blob";
    ReleaseMemoryPlan();
    return;
  }
  if (value) {
    ApplyMemoryPlan();
  } else {
    ReleaseMemoryPlan();
  }
}

void Net::ApplyMemoryPlan() {
  std::set<int> keep;
  for (const std::string& name : kept_blobs_) keep.insert(blob_names_index_.at(name));
  auto plan = std::make_unique<BlobMemoryPlan>(
      PlanBlobMemory(*this, keep, recompute_cheap_layers_));
  auto arena = std::make_shared<MemoryArena>(plan->placement.arena_bytes);
  planned_views_.clear();
  for (size_t i = 0; i < plan->storages.size(); ++i) {
    const PlannedStorage& storage = plan->storages[i];
    planned_views_.push_back(std::make_shared<SyncedMemory>(arena, plan->placement.offsets[i],
                                                            plan->buffers[i].bytes));
    if (!storage.recomputed) UseStorage(storage, planned_views_.back());
  }
  MoveOutOfOldArena(*plan);
  const bool first = memory_plan_ == nullptr;
  memory_plan_ = std::move(plan);
  planned_counts_.clear();
  for (const auto& blob : blobs_) planned_counts_.push_back(blob->count());
  if (first) {
    LOG(INFO) << "Network '" << name_ << "': blob memory planned, "
              << memory_plan_->planned_bytes() << " bytes instead of "
              << memory_plan_->unplanned_bytes << (memory_plan_->training ? " (training)" : "");
  }
}

void Net::MoveOutOfOldArena(const BlobMemoryPlan& plan) {
  std::set<std::pair<const Blob*, bool>> placed;  // (blob, diff)
  for (const PlannedStorage& storage : plan.storages) {
    if (storage.layer >= 0) {
      placed.insert({layers_[storage.layer]->internal_blobs()[storage.internal], false});
    }
    for (int id : storage.blobs) placed.insert({blobs_[id].get(), storage.diff});
  }
  std::vector<Blob*> all;
  for (const auto& blob : blobs_) all.push_back(blob.get());
  for (const auto& layer : layers_) {
    all.insert(all.end(), layer->internal_blobs().begin(), layer->internal_blobs().end());
  }
  std::map<const SyncedMemory*, std::shared_ptr<SyncedMemory>> moved;
  for (Blob* blob : all) {
    for (bool diff : {false, true}) {
      const std::shared_ptr<SyncedMemory> memory = diff ? blob->diff_memory() : blob->data_memory();
      if (!memory || !memory->is_arena_view() || placed.count({blob, diff})) continue;
      std::shared_ptr<SyncedMemory>& own = moved[memory.get()];
      if (!own) {
        own = std::make_shared<SyncedMemory>(memory->size());
        if (memory->head() != SyncedMemory::Head::kUninitialized) {
          std::memcpy(own->mutable_cpu_data(), memory->cpu_data(), memory->size());
        }
      }
      blob->SetStorage(diff ? nullptr : own, diff ? own : nullptr);
    }
  }
}

void Net::set_debug_info(bool value) {
  debug_info_ = value;
  if (value) {
    ReleaseMemoryPlan();
  } else if (plan_memory_requested_ && !memory_plan_) {
    ApplyMemoryPlan();
  }
}

void Net::UseStorage(const PlannedStorage& storage, const std::shared_ptr<SyncedMemory>& memory) {
  if (storage.layer >= 0) {
    layers_[storage.layer]->internal_blobs()[storage.internal]->SetStorage(memory, nullptr);
    return;
  }
  for (int id : storage.blobs) {
    blobs_[id]->SetStorage(storage.diff ? nullptr : memory, storage.diff ? memory : nullptr);
  }
}

void Net::RecomputeBeforeBackwardOf(int layer_id) {
  for (const Recomputation& again : memory_plan_->recomputations) {
    if (again.before_backward_of != layer_id) continue;
    for (int storage : again.backward_storages) {
      UseStorage(memory_plan_->storages[storage], planned_views_[storage]);
    }
    Layer& head = *layers_[again.layer];
    if (again.from_snapshot) {
      head.RecomputeFromSnapshot(bottom_vecs_[again.layer], top_vecs_[again.layer]);
    } else {
      head.Forward(bottom_vecs_[again.layer], top_vecs_[again.layer]);
    }
    for (int m : again.then_in_place) layers_[m]->Forward(bottom_vecs_[m], top_vecs_[m]);
  }
}

void Net::set_recompute_cheap_layers(bool value) {
  recompute_cheap_layers_ = value;
  if (memory_plan_) ApplyMemoryPlan();
}

void Net::ReleaseMemoryPlan() {
  if (!memory_plan_) return;
  for (const PlannedStorage& storage : memory_plan_->storages) {
    if (storage.recomputed) continue;  // the same blobs as its forward storage
    const Blob& root = storage.layer >= 0
                           ? *layers_[storage.layer]->internal_blobs()[storage.internal]
                           : *blobs_[storage.blobs[0]];
    UseStorage(storage, std::make_shared<SyncedMemory>(root.count() * sizeof(float)));
  }
  memory_plan_.reset();
  planned_views_.clear();
  planned_counts_.clear();
}

bool Net::PlannedShapesChanged() const {
  for (size_t id = 0; id < blobs_.size(); ++id) {
    if (blobs_[id]->count() != planned_counts_[id]) return true;
  }
  return false;
}

int Net::AppendBottom(const caffe::NetParameter& param, int layer_id, int bottom_id,
                      std::map<std::string, int>* available,
                      std::map<std::string, int>* blob_name_to_idx) {
  const caffe::LayerParameter& layer_param = param.layer(layer_id);
  const std::string& name = layer_param.bottom(bottom_id);
  auto it = available->find(name);
  if (it == available->end()) {
    std::string known;
    for (const auto& entry : *blob_name_to_idx) {
      if (!entry.first.empty()) known += (known.empty() ? "" : ", ") + entry.first;
    }
    ThrowError("layer '", layer_param.name(), "' (", layer_param.type(), "): bottom blob '",
               name, "' is not produced by any earlier layer",
               known.empty() ? std::string() : " (blobs so far: " + known + ")");
  }
  const int blob_id = it->second;
  available->erase(it);
  bottom_vecs_[layer_id].push_back(blobs_[blob_id].get());
  bottom_id_vecs_[layer_id].push_back(blob_id);
  bool need = true;
  if (layer_param.propagate_down_size() > 0) need = layer_param.propagate_down(bottom_id);
  bottom_need_backward_[layer_id].push_back(need && blob_need_backward_[blob_id]);
  return blob_id;
}

void Net::AppendTop(const caffe::NetParameter& param, int layer_id, int top_id,
                    std::map<std::string, int>* blob_name_to_idx) {
  const caffe::LayerParameter& layer_param = param.layer(layer_id);
  const std::string& name = layer_param.top(top_id);
  const bool in_place = top_id < layer_param.bottom_size() && layer_param.bottom(top_id) == name;
  if (in_place) {
    const int blob_id = (*blob_name_to_idx)[name];
    top_vecs_[layer_id].push_back(blobs_[blob_id].get());
    top_id_vecs_[layer_id].push_back(blob_id);
    return;
  }
  if (blob_name_to_idx->count(name)) {
    ThrowError("layer '", layer_param.name(), "' (", layer_param.type(), "): top blob '", name,
               "' is already produced by an earlier layer (only in-place use, with the same "
               "name as the bottom at the same position, may reuse a name)");
  }
  blobs_.push_back(std::make_unique<Blob>());
  const int blob_id = static_cast<int>(blobs_.size()) - 1;
  blob_names_.push_back(name);
  blob_need_backward_.push_back(false);
  (*blob_name_to_idx)[name] = blob_id;
  top_vecs_[layer_id].push_back(blobs_.back().get());
  top_id_vecs_[layer_id].push_back(blob_id);
  if (layer_param.type() == "Input") {
    net_input_blobs_.push_back(blobs_.back().get());
    net_input_blob_indices_.push_back(blob_id);
  }
}

void Net::AppendParam(const caffe::NetParameter& param, int layer_id, int param_id) {
  const caffe::LayerParameter& layer_param = param.layer(layer_id);
  const bool has_spec = param_id < layer_param.param_size();
  const caffe::ParamSpec spec = has_spec ? layer_param.param(param_id) : caffe::ParamSpec();
  const std::string& name = spec.name();
  const int net_param_id = static_cast<int>(params_.size());
  Blob* blob = layers_[layer_id]->blobs()[param_id].get();
  params_.push_back(blob);
  param_id_vecs_[layer_id].push_back(net_param_id);
  param_layer_indices_.push_back({layer_id, param_id});
  param_display_names_.push_back(name.empty() ? std::to_string(param_id) : name);
  auto owner_it = name.empty() ? param_names_index_.end() : param_names_index_.find(name);
  if (owner_it == param_names_index_.end()) {
    if (!name.empty()) param_names_index_[name] = net_param_id;
    param_owners_.push_back(-1);
    learnable_param_ids_.push_back(static_cast<int>(learnable_params_.size()));
    learnable_params_.push_back(blob);
    params_lr_.push_back(spec.lr_mult());
    params_weight_decay_.push_back(spec.decay_mult());
    return;
  }
  const int owner_id = owner_it->second;
  param_owners_.push_back(owner_id);
  Blob* owner = params_[owner_id];
  const auto& owner_layer = layer_names_[param_layer_indices_[owner_id].first];
  const bool permissive = spec.share_mode() == caffe::ParamSpec::PERMISSIVE;
  if (permissive ? owner->count() != blob->count() : owner->shape() != blob->shape()) {
    ThrowError("layer '", layer_param.name(), "': shared parameter '", name, "' has shape ",
               blob->shape_string(), " but its owner in layer '", owner_layer, "' has ",
               owner->shape_string());
  }
  const int learnable_id = learnable_param_ids_[owner_id];
  learnable_param_ids_.push_back(learnable_id);
  if (has_spec && spec.has_lr_mult() && spec.lr_mult() != params_lr_[learnable_id]) {
    ThrowError("layer '", layer_param.name(), "': shared parameter '", name, "' has lr_mult ",
               spec.lr_mult(), " but its owner in layer '", owner_layer, "' has ",
               params_lr_[learnable_id]);
  }
  if (has_spec && spec.has_decay_mult() && spec.decay_mult() != params_weight_decay_[learnable_id]) {
    ThrowError("layer '", layer_param.name(), "': shared parameter '", name, "' has decay_mult ",
               spec.decay_mult(), " but its owner in layer '", owner_layer, "' has ",
               params_weight_decay_[learnable_id]);
  }
  blob->ShareData(*owner);
  blob->ShareDiff(*owner);
}

float Net::ForwardFromTo(int start, int end) {
  CHECK_GE(start, 0);
  CHECK_LT(end, static_cast<int>(layers_.size()));
  ActivateDevice(device_);  // the caller's thread may not have made it current
  if (fusion_) fusion_->RefoldIfChanged();
  if (start == 0) BeginPlannedPass();
  float loss = 0;
  int i = start;
  try {
    for (; i <= end; ++i) {
      RunLayerHooks(LayerHook::kBeforeForward, i);
      loss += RunLayer(i, start, end);
      if (debug_info_) ForwardDebugInfo(i);
      RunLayerHooks(LayerHook::kAfterForward, i);
    }
  } catch (const Error& e) {
    // Name the file and the layer, as errors at build time do.
    ThrowNamingLayer(e, origin_, layer_names_[i]);
  } catch (const std::bad_alloc&) {
    ThrowOutOfMemory(origin_, layer_names_[i], top_vecs_[i]);
  }
  return loss;
}

void Net::BeginPlannedPass() {
  if (!memory_plan_) return;
  // A pass that grew a blob gave it its own storage (Blob::SetStorage); plan
  // again while no value but inputs and kept blobs matters.
  if (PlannedShapesChanged()) {
    ApplyMemoryPlan();
    return;
  }
  // Recomputed values move back to their forward storage.
  for (const Recomputation& again : memory_plan_->recomputations) {
    for (int storage : again.forward_storages) {
      UseStorage(memory_plan_->storages[storage], planned_views_[storage]);
    }
  }
}

float Net::ForwardLayer(int layer_id) {
  CHECK_GE(layer_id, 0);
  CHECK_LT(layer_id, static_cast<int>(layers_.size()));
  ActivateDevice(device_);
  if (fusion_) fusion_->RefoldIfChanged();
  if (layer_id == 0) BeginPlannedPass();
  try {
    return RunLayer(layer_id, 0, static_cast<int>(layers_.size()) - 1);
  } catch (const Error& e) {
    ThrowNamingLayer(e, origin_, layer_names_[layer_id]);
  } catch (const std::bad_alloc&) {
    ThrowOutOfMemory(origin_, layer_names_[layer_id], top_vecs_[layer_id]);
  }
}

float Net::RunLayer(int i, int start, int end) {
  if (fusion_) {
    if (fusion_->dropped(i)) return 0;  // the identity, in place
    const InferenceFusion::Chain* chain = fusion_->chain_of(i);
    if (chain && chain->head >= start && chain->last <= end) {
      if (i != chain->head) return 0;  // the head computed it
      // The head writes the chain's final blob before the chain's own
      // layers would have shaped it (or checked their operands' shapes):
      // give them their Reshape first, in order.
      layers_[i]->Reshape(bottom_vecs_[i], top_vecs_[i]);
      for (int m : chain->members) layers_[m]->Reshape(bottom_vecs_[m], top_vecs_[m]);
      return layers_[i]->Forward(bottom_vecs_[i], chain->top, &chain->epilogue);
    }
  }
  return layers_[i]->Forward(bottom_vecs_[i], top_vecs_[i]);
}

void Net::PlanFusion() {
  PlanFusionChains();
  if (memory_plan_) ApplyMemoryPlan();  // a chain's head writes its final blob early
}

void Net::PlanFusionChains() {
  fusion_.reset();
  if (!fuse_inference_ || phase_ != caffe::TEST) return;
  // Fused layers compute no gradients and leave intermediates unwritten.
  if (!forward_only_) {
    for (bool need : layer_need_backward_) {
      if (need) return;
    }
  }
  auto plan = std::make_unique<InferenceFusion>(*this, kept_blobs_);
  if (plan->empty()) return;
  LOG(INFO) << "Network '" << name_ << "': " << plan->Summary();
  fusion_ = std::move(plan);
}

void Net::set_forward_only(bool value) {
  if (value == forward_only_) return;
  forward_only_ = value;
  TellLayersWhetherBackwardRuns();
  PlanFusion();
}

void Net::TellLayersWhetherBackwardRuns() {
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i]->set_backward_needed(!forward_only_ && layer_need_backward_[i]);
  }
}

void Net::set_fuse_inference(bool value) {
  if (value == fuse_inference_) return;
  fuse_inference_ = value;
  PlanFusion();
}

void Net::KeepBlobs(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (!has_blob(name)) ThrowError("net '", name_, "' has no blob '", name, "' to keep");
    kept_blobs_.insert(name);
  }
  PlanFusion();
}

bool Net::layer_fused_away(int layer_id) const {
  return fusion_ != nullptr && fusion_->fused_away(layer_id);
}

std::vector<std::string> Net::elided_blobs() const {
  return fusion_ ? fusion_->elided_blob_names() : std::vector<std::string>{};
}

const BlobVec& Net::Forward(float* loss) {
  float value = layers_.empty() ? 0.f : ForwardFromTo(0, static_cast<int>(layers_.size()) - 1);
  if (loss) *loss = value;
  return net_output_blobs_;
}

void Net::BackwardFromTo(int start, int end) {
  CHECK_GE(end, 0);
  CHECK_LT(start, static_cast<int>(layers_.size()));
  if (forward_only_) {
    ThrowError("net '", name_, "' runs forward only (Net::set_forward_only): it has no "
               "backward pass");
  }
  ActivateDevice(device_);  // the caller's thread may not have made it current
  for (int i = start; i >= end; --i) {
    RunLayerHooks(LayerHook::kBeforeBackward, i);
    if (memory_plan_ && !memory_plan_->recomputations.empty()) RecomputeBeforeBackwardOf(i);
    if (layer_need_backward_[i]) {
      layers_[i]->Backward(top_vecs_[i], bottom_need_backward_[i], bottom_vecs_[i]);
      if (debug_info_) BackwardDebugInfo(i);
    }
    if (after_layer_backward_) after_layer_backward_(i);
    RunLayerHooks(LayerHook::kAfterBackward, i);
  }
}

void Net::RunLayerHooks(LayerHook when, int layer_id) {
  for (const auto& hook : layer_hooks_[static_cast<int>(when)]) hook(layer_id);
}

std::vector<int> Net::LearnableParamFinalLayers() const {
  std::vector<int> final_layers(learnable_params_.size(), static_cast<int>(layers_.size()));
  for (size_t i = 0; i < params_.size(); ++i) {
    int& layer = final_layers[learnable_param_ids_[i]];
    layer = std::min(layer, param_layer_indices_[i].first);
  }
  return final_layers;
}

void Net::Backward() {
  if (layers_.empty()) return;
  BackwardFromTo(static_cast<int>(layers_.size()) - 1, 0);
  if (debug_info_) {
    double data_l1 = 0, diff_l1 = 0;
    for (Blob* p : learnable_params_) {
      data_l1 += p->asum_data();
      diff_l1 += p->asum_diff();
    }
    LOG(INFO) << "    [Backward] All net params (data, diff): L1 norm = (" << data_l1 << ", "
              << diff_l1 << ")";
  }
}

void Net::SetDataShard(int index, int count) {
  CHECK_GE(index, 0);
  CHECK_LT(index, count);
  for (auto& layer : layers_) {
    if (layer->IsDataSource()) layer->SetDataShard(index, count);
  }
}

void Net::Reshape() {
  size_t i = 0;
  try {
    for (; i < layers_.size(); ++i) layers_[i]->Reshape(bottom_vecs_[i], top_vecs_[i]);
  } catch (const Error& e) {
    ThrowNamingLayer(e, origin_, layer_names_[i]);
  } catch (const std::bad_alloc&) {
    ThrowOutOfMemory(origin_, layer_names_[i], top_vecs_[i]);
  }
  if (memory_plan_) ApplyMemoryPlan();
}

void Net::ClearParamDiffs() {
  for (Blob* p : learnable_params_) {
#ifdef CORTADO_WITH_CUDA
    if (device_.is_cuda()) {
      gpu::Set(p->count(), 0.f, p->mutable_gpu_diff());
      continue;
    }
#endif
    Set(p->count(), 0.f, p->mutable_cpu_diff());
  }
}

void Net::SetDevice(const Device& device) {
  ActivateDevice(device);
  device_ = device;
  std::set<std::string> cpu_only;
  for (const auto& layer : layers_) {
    layer->SetDevice(device);
    // Data layers read files on the host by design; the first GPU layer
    // that reads their tops copies them over. Only compute is worth a note.
    const bool data_layer = layer->ExactNumBottomBlobs() == 0 || layer->IsDataSource();
    if (device.is_cuda() && !layer->runs_on_cuda() && !data_layer) {
      cpu_only.insert(layer->type());
    }
  }
  for (const std::string& type : cpu_only) {
    LOG(WARNING) << "Net '" << name_ << "': layer type " << type
                 << " has no CUDA kernels yet; its layers compute on the CPU and their "
                    "blobs are copied between host and " << device.ToString();
  }
}

void Net::Update() {
  for (size_t i = 0; i < learnable_params_.size(); ++i) {
    learnable_params_[i]->Update();
    if (debug_info_) UpdateDebugInfo(i);
  }
}

void Net::ShareTrainedLayersWith(const Net& other) {
  for (size_t i = 0; i < other.layers().size(); ++i) {
    Layer* target = layer_by_name(other.layer_names()[i]);
    if (!target) continue;
    const auto& source_blobs = other.layers()[i]->blobs();
    if (target->blobs().size() != source_blobs.size()) {
      ThrowError("layer '", target->name(), "' has ", target->blobs().size(),
                 " parameter blobs here but ", source_blobs.size(), " in the net it shares with");
    }
    for (size_t j = 0; j < source_blobs.size(); ++j) {
      Blob* blob = target->blobs()[j].get();
      if (blob->shape() != source_blobs[j]->shape()) {
        ThrowError("layer '", target->name(), "' parameter ", j, " has shape ",
                   blob->shape_string(), " but the shared source has ",
                   source_blobs[j]->shape_string());
      }
      blob->ShareData(*source_blobs[j]);
    }
  }
}

namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

std::set<std::string> Net::CopyLayerWeights(const caffe::NetParameter& in_param) {
  caffe::NetParameter upgraded;
  const bool legacy = NetNeedsUpgrade(in_param);
  if (legacy) {
    upgraded.CopyFrom(in_param);
    UpgradeNetAsNeeded("weights of net '" + in_param.name() + "'", &upgraded);
  }
  const caffe::NetParameter& param = legacy ? upgraded : in_param;
  std::set<std::string> copied;
  std::vector<std::string> ignored;
  for (const caffe::LayerParameter& source : param.layer()) {
    if (source.blobs_size() == 0) continue;
    Layer* target = layer_by_name(source.name());
    if (!target) {
      ignored.push_back(source.name());
      continue;
    }
    auto& blobs = target->blobs();
    if (static_cast<int>(blobs.size()) != source.blobs_size()) {
      ThrowError("layer '", source.name(), "' (", target->type(), "): the weights have ",
                 source.blobs_size(), " parameter blobs but the net expects ", blobs.size());
    }
    for (int j = 0; j < source.blobs_size(); ++j) {
      if (!blobs[j]->ShapeEquals(source.blobs(j))) {
        std::string theirs;
        for (int d : Blob::ProtoShape(source.blobs(j))) theirs += std::to_string(d) + " ";
        ThrowError("layer '", source.name(), "' (", target->type(), ") parameter ", j,
                   ": the weights have shape ", theirs, "but the net expects ",
                   blobs[j]->shape_string());
      }
      blobs[j]->FromProto(source.blobs(j), /*reshape=*/false);
    }
    copied.insert(source.name());
  }
  LOG(INFO) << "Copied weights of " << copied.size() << " layers";
  if (!ignored.empty()) {
    LOG(WARNING) << "Layers in the weights but not in this net (ignored): " << JoinNames(ignored);
  }
  // Weights that fill nothing (an empty file, another net's caffemodel)
  // would leave every layer random; that is never what was meant.
  if (copied.empty() && !LayersWithoutWeights(copied).empty()) {
    ThrowError("the weights match no layer of net '", name_, "' (its layers with parameters: ",
               JoinNames(LayersWithoutWeights(copied)), "; the weights have ",
               ignored.empty() ? "no layers with parameters" : "layers " + JoinNames(ignored),
               ")");
  }
  return copied;
}

std::vector<std::string> Net::LayersWithoutWeights(const std::set<std::string>& copied) const {
  std::vector<std::string> missing;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (!layers_[i]->blobs().empty() && !copied.count(layer_names_[i])) {
      missing.push_back(layer_names_[i]);
    }
  }
  return missing;
}

void Net::CheckAllWeightsCopied(const std::set<std::string>& copied,
                                MissingWeights missing) const {
  const std::vector<std::string> random = LayersWithoutWeights(copied);
  if (random.empty()) return;
  if (missing == MissingWeights::kError) {
    ThrowError("the weights lack layers of net '", name_, "' that have parameters: ",
               JoinNames(random), " (a truncated caffemodel, or weights of another net?)");
  }
  // Fine-tuning usually renames a layer on purpose; still say which ones
  // did not match so an accidental rename does not go unnoticed.
  LOG(WARNING) << "Layers of this net not in the weights (keeping their initial values): "
               << JoinNames(random);
}

void Net::CopyTrainedLayersFrom(const caffe::NetParameter& param, MissingWeights missing) {
  CheckAllWeightsCopied(CopyLayerWeights(param), missing);
}

void Net::CopyTrainedLayersFrom(const std::string& caffemodel_path, MissingWeights missing) {
  CopyTrainedLayersFrom(std::vector<std::string>{caffemodel_path}, missing);
}

void Net::CopyTrainedLayersFrom(const std::vector<std::string>& caffemodel_paths,
                                MissingWeights missing) {
  std::set<std::string> copied;
  for (const std::string& path : caffemodel_paths) {
    caffe::NetParameter param;
    if (IsHdf5Path(path)) {
      ReadNetParamFromHdf5(path, &param);
    } else {
      ReadNetParamsFromBinaryFile(path, &param);
    }
    try {
      const std::set<std::string> from_file = CopyLayerWeights(param);
      copied.insert(from_file.begin(), from_file.end());
    } catch (const Error& e) {
      ThrowError(path, ": ", e.what());
    }
  }
  try {
    CheckAllWeightsCopied(copied, missing);
  } catch (const Error& e) {
    std::string files;
    for (const std::string& path : caffemodel_paths) files += (files.empty() ? "" : ",") + path;
    ThrowError(files, ": ", e.what());
  }
}

void Net::ToProto(caffe::NetParameter* param, bool write_diff) const {
  param->Clear();
  param->set_name(name_);
  for (const auto& layer : layers_) layer->ToProto(param->add_layer(), write_diff);
}

bool Net::has_blob(const std::string& name) const { return blob_names_index_.count(name) > 0; }

Blob* Net::blob_by_name(const std::string& name) const {
  auto it = blob_names_index_.find(name);
  return it == blob_names_index_.end() ? nullptr : blobs_[it->second].get();
}

bool Net::has_layer(const std::string& name) const { return layer_names_index_.count(name) > 0; }

Layer* Net::layer_by_name(const std::string& name) const {
  auto it = layer_names_index_.find(name);
  return it == layer_names_index_.end() ? nullptr : layers_[it->second].get();
}

void Net::ForwardDebugInfo(int layer_id) {
  for (size_t t = 0; t < top_vecs_[layer_id].size(); ++t) {
    const Blob* blob = top_vecs_[layer_id][t];
    const double mean = blob->count() ? blob->asum_data() / blob->count() : 0;
    LOG(INFO) << "    [Forward] Layer " << layer_names_[layer_id] << ", top blob "
              << blob_names_[top_id_vecs_[layer_id][t]] << " data: " << mean;
  }
  for (size_t p = 0; p < layers_[layer_id]->blobs().size(); ++p) {
    const Blob* blob = layers_[layer_id]->blobs()[p].get();
    const double mean = blob->count() ? blob->asum_data() / blob->count() : 0;
    LOG(INFO) << "    [Forward] Layer " << layer_names_[layer_id] << ", param blob " << p
              << " data: " << mean;
  }
}

void Net::BackwardDebugInfo(int layer_id) {
  for (size_t b = 0; b < bottom_vecs_[layer_id].size(); ++b) {
    if (!bottom_need_backward_[layer_id][b]) continue;
    const Blob* blob = bottom_vecs_[layer_id][b];
    const double mean = blob->count() ? blob->asum_diff() / blob->count() : 0;
    LOG(INFO) << "    [Backward] Layer " << layer_names_[layer_id] << ", bottom blob "
              << blob_names_[bottom_id_vecs_[layer_id][b]] << " diff: " << mean;
  }
  for (size_t p = 0; p < layers_[layer_id]->blobs().size(); ++p) {
    if (!layers_[layer_id]->param_propagate_down(p)) continue;
    const Blob* blob = layers_[layer_id]->blobs()[p].get();
    const double mean = blob->count() ? blob->asum_diff() / blob->count() : 0;
    LOG(INFO) << "    [Backward] Layer " << layer_names_[layer_id] << ", param blob " << p
              << " diff: " << mean;
  }
}

void Net::UpdateDebugInfo(int param_id) {
  const Blob* blob = learnable_params_[param_id];
  LOG(INFO) << "    [Update] Param " << param_id << " data: "
            << (blob->count() ? blob->asum_data() / blob->count() : 0)
            << "; diff: " << (blob->count() ? blob->asum_diff() / blob->count() : 0);
}

}  // namespace cortado
