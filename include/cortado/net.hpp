// Net: a directed graph of layers joined by named blobs, built from a
// NetParameter after phase/stage filtering and automatic split insertion.
#ifndef CORTADO_NET_HPP_
#define CORTADO_NET_HPP_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/blob.hpp"
#include "cortado/blob_memory_plan.hpp"
#include "cortado/layer.hpp"

namespace cortado {

class InferenceFusion;

class Net {
 public:
  // origin (the prototxt path, when there is one) prefixes errors raised
  // while building the net and during Forward.
  explicit Net(const caffe::NetParameter& param, const std::string& origin = "");
  // Reads a prototxt; phase/level/stages override the file's state.
  Net(const std::string& prototxt_path, caffe::Phase phase, int level = 0,
      const std::vector<std::string>& stages = {});
  ~Net();
  CORTADO_DISALLOW_COPY(Net);

  // Runs every layer forward; returns the output blobs.
  const BlobVec& Forward(float* loss = nullptr);
  // A fused chain (see below) runs fused only when [start, end] holds all of
  // it; otherwise its layers run one by one. A range that starts inside a
  // chain reads blobs as they are: one the chain elided holds no value.
  float ForwardFromTo(int start, int end);
  // Runs layer `layer_id` as Forward() does: a fusion head computes its
  // whole chain, a fused-away layer does nothing (`cortado time` uses it).
  float ForwardLayer(int layer_id);
  void Backward();
  void BackwardFromTo(int start, int end);
  float ForwardBackward() {
    float loss;
    Forward(&loss);
    Backward();
    return loss;
  }
  // Runs every layer on `device` from now on. Layers whose type has no CUDA
  // kernels stay on the CPU; each such type is logged once per net.
  void SetDevice(const Device& device);
  const Device& device() const { return device_; }

  // Called after each layer's step of Backward (in reverse layer order, and
  // also for layers that need no backward), with the layer's index. Data-
  // parallel training starts reducing the gradients that are final there.
  void set_after_layer_backward(std::function<void(int layer_id)> fn) {
    after_layer_backward_ = std::move(fn);
  }
  // Hooks called with a layer's index before and after its step of every
  // forward and backward pass (a layer a fused chain covers included), in
  // the order added; pycaffe's net.before_forward and friends, which timing
  // scripts use. An exception a hook throws ends the pass.
  enum class LayerHook { kBeforeForward, kAfterForward, kBeforeBackward, kAfterBackward };
  void add_layer_hook(LayerHook when, std::function<void(int layer_id)> fn) {
    layer_hooks_[static_cast<int>(when)].push_back(std::move(fn));
  }
  // For each learnable parameter, the layer after whose backward step its
  // gradient is complete: the first (lowest-index) layer that uses it.
  std::vector<int> LearnableParamFinalLayers() const;

  // Calls SetDataShard on every data source (see Layer::SetDataShard).
  void SetDataShard(int index, int count);

  // Re-runs shape inference after input blobs changed shape.
  void Reshape();

  void ClearParamDiffs();
  // data -= diff for every owned learnable parameter.
  void Update();
  // Makes this net's parameters alias other's (test nets follow train nets).
  void ShareTrainedLayersWith(const Net& other);
  // Copies parameters from trained nets by layer name; layers of the file
  // missing here are skipped and logged. Weights that fill no layer with
  // parameters (an empty file, another net's caffemodel) are an error.
  // Layers with parameters that no file provides keep their initial values
  // with a warning naming them (kWarn: fine-tuning, where a renamed layer is
  // meant to start afresh, and Caffe's Python net surgery), or are an error
  // (kError: testing or extracting features, where a random layer, say from a
  // truncated caffemodel, would silently give wrong results).
  enum class MissingWeights { kWarn, kError };
  void CopyTrainedLayersFrom(const caffe::NetParameter& param,
                             MissingWeights missing = MissingWeights::kWarn);
  void CopyTrainedLayersFrom(const std::string& caffemodel_path,
                             MissingWeights missing = MissingWeights::kWarn);
  void CopyTrainedLayersFrom(const std::vector<std::string>& caffemodel_paths,
                             MissingWeights missing);
  void ToProto(caffe::NetParameter* param, bool write_diff = false) const;

  const std::string& name() const { return name_; }
  caffe::Phase phase() const { return phase_; }
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  const std::vector<std::string>& layer_names() const { return layer_names_; }
  const std::vector<std::string>& blob_names() const { return blob_names_; }
  const std::vector<std::unique_ptr<Blob>>& blobs() const { return blobs_; }
  const std::vector<BlobVec>& bottom_vecs() const { return bottom_vecs_; }
  const std::vector<BlobVec>& top_vecs() const { return top_vecs_; }
  const std::vector<std::vector<int>>& bottom_ids() const { return bottom_id_vecs_; }
  const std::vector<std::vector<int>>& top_ids() const { return top_id_vecs_; }
  const std::vector<std::vector<bool>>& bottom_need_backward() const {
    return bottom_need_backward_;
  }
  const std::vector<bool>& layer_need_backward() const { return layer_need_backward_; }
  const std::vector<float>& blob_loss_weights() const { return blob_loss_weights_; }

  // Every parameter blob, in layer order; shared ones appear once per user.
  const std::vector<Blob*>& params() const { return params_; }
  // Parameters the solver updates: owners only, shared copies excluded.
  const std::vector<Blob*>& learnable_params() const { return learnable_params_; }
  const std::vector<float>& params_lr() const { return params_lr_; }
  const std::vector<float>& params_weight_decay() const { return params_weight_decay_; }
  // For each entry of params(): -1 if it owns, else the owner's index.
  const std::vector<int>& param_owners() const { return param_owners_; }
  const std::vector<std::string>& param_display_names() const {
    return param_display_names_;
  }

  const BlobVec& input_blobs() const { return net_input_blobs_; }
  const BlobVec& output_blobs() const { return net_output_blobs_; }
  const std::vector<int>& input_blob_indices() const { return net_input_blob_indices_; }
  const std::vector<int>& output_blob_indices() const { return net_output_blob_indices_; }

  bool has_blob(const std::string& name) const;
  Blob* blob_by_name(const std::string& name) const;  // nullptr if absent
  bool has_layer(const std::string& name) const;
  Layer* layer_by_name(const std::string& name) const;  // nullptr if absent

  void set_debug_info(bool value);
  bool debug_info() const { return debug_info_; }

  // Inference fusion (inference_fusion.hpp, docs/performance.md): a TEST net
  // none of whose layers needs backward folds BatchNorm/Scale, ReLU, Eltwise
  // SUM and Dropout into the Convolution or InnerProduct before them. On by
  // default, unless NetParameter.fuse_inference is false. Net outputs and
  // every blob a chain writes last stay exact; a chain's non-in-place
  // intermediate blob is elided (never written) unless kept.
  void set_fuse_inference(bool value);
  bool fuse_inference() const { return fuse_inference_; }
  // A net that will only ever run forward (a solver's test net under
  // `cortado train`, `cortado test`): fused and planned as inference even
  // when its layers would compute gradients (a train_val net's losses), and
  // Backward is an error. Off by default: pycaffe scripts may run backward
  // on, or read any blob of, any net.
  void set_forward_only(bool value);
  bool forward_only() const { return forward_only_; }
  // Blobs the caller will read (extract_features, --blobs): never elided.
  // Unknown names are an error.
  void KeepBlobs(const std::vector<std::string>& names);
  // Whether Forward skips this layer because a fused chain or the identity
  // (an in-place Dropout at TEST) covers it.
  bool layer_fused_away(int layer_id) const;
  // The blobs fusion leaves unwritten; empty when nothing is fused.
  std::vector<std::string> elided_blobs() const;
  // The current plan; null when nothing is fused.
  const InferenceFusion* fusion() const { return fusion_.get(); }
  // Memory planning (blob_memory_plan.hpp, docs/memory.md): blobs other
  // than inputs, outputs and kept ones (KeepBlobs) share one arena and hold
  // values only during a pass; a ForwardFromTo that starts mid-net may read
  // recycled storage. Off unless NetParameter.plan_memory or this turns it
  // on; debug_info (which reads every blob) leaves it off. Turning it off
  // gives each blob its own storage again (recycled values are lost).
  void set_plan_memory(bool value);
  // The tools' default (--plan_memory): plans unless the prototxt says
  // plan_memory: false.
  void PlanMemoryUnlessRefused() {
    if (!plan_memory_refused_) set_plan_memory(true);
  }
  bool plan_memory() const { return memory_plan_ != nullptr; }
  // With planning in training, run cheap layers (Pooling, LRN, Concat) again
  // in backward instead of keeping their outputs (NetParameter
  // .recompute_cheap_layers; off by default).
  void set_recompute_cheap_layers(bool value);
  bool recompute_cheap_layers() const { return recompute_cheap_layers_; }
  // The plan in force; null when planning is off.
  const BlobMemoryPlan* memory_plan() const { return memory_plan_.get(); }
  // A layer whose backward reads another layer's snapshot instead of its
  // own copy (Layer::UseBottomSnapshot): an in-place Scale after BatchNorm.
  struct BorrowedSnapshot {
    int owner;     // the layer whose internal blob it is
    int borrower;  // the layer that reads it in backward
    const Blob* blob;
  };
  const std::vector<BorrowedSnapshot>& borrowed_snapshots() const { return borrowed_snapshots_; }
  // Keeps the layers whose include/exclude rules match param.state().
  static void FilterNet(const caffe::NetParameter& param,
                        caffe::NetParameter* filtered);
  static bool StateMeetsRule(const caffe::NetState& state,
                             const caffe::NetStateRule& rule,
                             const std::string& layer_name);
  // Inserts Split layers where one top feeds several bottoms.
  static void InsertSplits(const caffe::NetParameter& param,
                           caffe::NetParameter* split);

 private:
  void Init(const caffe::NetParameter& param);
  void AppendTop(const caffe::NetParameter& param, int layer_id, int top_id,
                 std::map<std::string, int>* blob_name_to_idx);
  int AppendBottom(const caffe::NetParameter& param, int layer_id,
                   int bottom_id, std::map<std::string, int>* available,
                   std::map<std::string, int>* blob_name_to_idx);
  void AppendParam(const caffe::NetParameter& param, int layer_id,
                   int param_id);
  // At the start of a forward pass from the first layer: plans again if a
  // shape changed, else moves recomputed values back to their forward
  // storage.
  void BeginPlannedPass();
  // Before set-up: offers the layer, where it runs in place, the snapshot
  // its bottom's last writer keeps (see Layer::UseBottomSnapshot).
  void OfferSnapshots(int layer_id);
  // Copies what matches; returns the names of the layers it filled.
  std::set<std::string> CopyLayerWeights(const caffe::NetParameter& param);
  std::vector<std::string> LayersWithoutWeights(const std::set<std::string>& copied) const;
  void CheckAllWeightsCopied(const std::set<std::string>& copied,
                             MissingWeights missing) const;
  // (Re)builds fusion_ from the current settings.
  void PlanFusion();
  // Layer::set_backward_needed for every layer, from layer_need_backward_
  // and forward_only_.
  void TellLayersWhetherBackwardRuns();
  void PlanFusionChains();
  // (Re)plans blob storage when planning is on; called whenever shapes,
  // fusion or the kept set change.
  void ApplyMemoryPlan();
  void ReleaseMemoryPlan();
  // Blobs in the old arena that `plan` leaves out (now kept, say) get their
  // own storage, with their values, so that the old arena can go.
  void MoveOutOfOldArena(const BlobMemoryPlan& plan);
  void UseStorage(const PlannedStorage& storage, const std::shared_ptr<SyncedMemory>& memory);
  void RecomputeBeforeBackwardOf(int layer_id);
  bool PlannedShapesChanged() const;
  void RunLayerHooks(LayerHook when, int layer_id);
  // Runs layer i within a ForwardFromTo(start, end).
  float RunLayer(int i, int start, int end);
  void ForwardDebugInfo(int layer_id);
  void BackwardDebugInfo(int layer_id);
  void UpdateDebugInfo(int param_id);

  std::string name_;
  std::string origin_;
  Device device_;
  caffe::Phase phase_ = caffe::TRAIN;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::string> layer_names_;
  std::map<std::string, int> layer_names_index_;
  std::vector<std::unique_ptr<Blob>> blobs_;
  std::vector<std::string> blob_names_;
  std::map<std::string, int> blob_names_index_;
  std::vector<bool> blob_need_backward_;
  std::vector<BlobVec> bottom_vecs_;
  std::vector<std::vector<int>> bottom_id_vecs_;
  std::vector<std::vector<bool>> bottom_need_backward_;
  std::vector<BlobVec> top_vecs_;
  std::vector<std::vector<int>> top_id_vecs_;
  std::vector<bool> layer_need_backward_;
  std::vector<float> blob_loss_weights_;
  std::vector<std::vector<int>> param_id_vecs_;
  std::vector<Blob*> params_;
  std::vector<Blob*> learnable_params_;
  std::vector<int> learnable_param_ids_;
  std::vector<int> param_owners_;
  std::vector<std::string> param_display_names_;
  std::vector<std::pair<int, int>> param_layer_indices_;
  std::map<std::string, int> param_names_index_;
  std::vector<float> params_lr_;
  std::vector<float> params_weight_decay_;
  BlobVec net_input_blobs_;
  std::vector<int> net_input_blob_indices_;
  BlobVec net_output_blobs_;
  std::vector<int> net_output_blob_indices_;
  bool debug_info_ = false;
  std::function<void(int)> after_layer_backward_;
  std::vector<std::function<void(int)>> layer_hooks_[4];  // by LayerHook
  bool fuse_inference_ = true;
  bool forward_only_ = false;
  std::set<std::string> kept_blobs_;
  std::unique_ptr<InferenceFusion> fusion_;
  bool plan_memory_requested_ = false;
  bool plan_memory_refused_ = false;  // the prototxt says plan_memory: false
  std::unique_ptr<BlobMemoryPlan> memory_plan_;
  std::vector<int64_t> planned_counts_;  // each blob's count when planned
  bool recompute_cheap_layers_ = false;
  std::vector<std::shared_ptr<SyncedMemory>> planned_views_;  // per planned storage
  std::vector<BorrowedSnapshot> borrowed_snapshots_;
};

}  // namespace cortado

#endif  // CORTADO_NET_HPP_
