// Layer: the unit a net is built from. Reads bottom blobs, writes top blobs,
// and owns its learnable parameter blobs.
#ifndef CORTADO_LAYER_HPP_
#define CORTADO_LAYER_HPP_

#include <memory>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/blob.hpp"
#include "cortado/common.hpp"
#include "cortado/device.hpp"
#include "cortado/epilogue.hpp"

namespace cortado {

using BlobVec = std::vector<Blob*>;

// Where a layer type can run; `cortado layers` prints these. A layer class
// with device kernels says so with a static member, e.g.
//   static constexpr unsigned kDevices = kLayerCpu | kLayerCuda;
enum LayerDevice : unsigned {
  kLayerCpu = 1u << 0,
  kLayerCuda = 1u << 1,
  kLayerCudnn = 1u << 2,
};

class Layer {
 public:
  explicit Layer(const caffe::LayerParameter& param);
  virtual ~Layer() = default;
  CORTADO_DISALLOW_COPY(Layer);

  // Checks blob counts, runs LayerSetUp and Reshape, and seeds loss weights.
  void SetUp(const BlobVec& bottom, const BlobVec& top);

  // One-time set-up: read parameters, create and fill parameter blobs.
  virtual void LayerSetUp(const BlobVec& bottom, const BlobVec& top) {}
  // Computes top shapes from bottom shapes; called before every Forward.
  virtual void Reshape(const BlobVec& bottom, const BlobVec& top) = 0;

  // Returns this layer's weighted loss (0 for non-loss layers). With an
  // epilogue (only for layers whose AcceptsEpilogue() is true), the layer
  // also computes the layers the inference fusion pass folded into it.
  float Forward(const BlobVec& bottom, const BlobVec& top,
                const Epilogue* epilogue = nullptr);
  void Backward(const BlobVec& top, const std::vector<bool>& propagate_down,
                const BlobVec& bottom);

  // Where Forward/Backward compute. A layer without CUDA kernels for its
  // type keeps computing on the CPU (the net logs it once); its blobs'
  // synced memory moves data to whichever side asks.
  void SetDevice(const Device& device);
  const Device& device() const { return device_; }
  // True when Forward/Backward run the CUDA kernels.
  bool runs_on_cuda() const { return runs_on_cuda_; }
  // False when the net holding this layer never calls its Backward (a
  // forward-only net, or no gradient reaches the layer), so Forward may skip
  // what only Backward reads. A layer outside a net keeps true.
  bool backward_needed() const { return backward_needed_; }
  void set_backward_needed(bool needed) { backward_needed_ = needed; }
  // The LayerDevice flags of this layer's type in this build.
  unsigned devices() const { return devices_; }
  void set_devices(unsigned devices) { devices_ = devices; }

  virtual const char* type() const = 0;
  const std::string& name() const { return layer_param_.name(); }
  const caffe::LayerParameter& layer_param() const { return layer_param_; }
  caffe::Phase phase() const { return phase_; }

  std::vector<std::unique_ptr<Blob>>& blobs() { return blobs_; }
  const std::vector<std::unique_ptr<Blob>>& blobs() const { return blobs_; }
  // Writes the layer's parameter and its blobs (the caffemodel layout).
  void ToProto(caffe::LayerParameter* param, bool write_diff = false) const;

  float loss(int top_index) const {
    return top_index < static_cast<int>(loss_.size()) ? loss_[top_index] : 0;
  }
  void set_loss(int top_index, float value);

  // Blob-count contracts; -1 means "no constraint".
  virtual int ExactNumBottomBlobs() const { return -1; }
  virtual int MinBottomBlobs() const { return -1; }
  virtual int MaxBottomBlobs() const { return -1; }
  virtual int ExactNumTopBlobs() const { return -1; }
  virtual int MinTopBlobs() const { return -1; }
  virtual int MaxTopBlobs() const { return -1; }
  virtual bool EqualNumBottomTopBlobs() const { return false; }
  // Layers that create their tops on demand (data layers) say how many.
  virtual bool AutoTopBlobs() const { return false; }
  // Whether Forward takes an Epilogue (see epilogue.hpp).
  virtual bool AcceptsEpilogue() const { return false; }
  // Whether force_backward may request a gradient for this bottom (labels: no).
  virtual bool AllowForceBackward(int bottom_index) const { return true; }
  // What Backward reads, for the memory planner in training: whether it
  // reads the data of bottom[index] / top[index]. The default, true, is
  // always safe; a layer that answers false lets the planner recycle that
  // storage as soon as forward is done with it. (Every Backward may read its
  // tops' diffs and its own private state.)
  virtual bool BackwardReadsBottomData(int index) const { return true; }
  virtual bool BackwardReadsTopData(int index) const { return true; }
  // Whether Forward is cheap next to a convolution, deterministic and free
  // of side effects (no random draw, no running statistics), so that with
  // recomputation on the planner may drop the outputs after forward and run
  // Forward again during backward (Chen et al. 2016).
  virtual bool CheapToRecompute() const { return false; }
  // Recomputation from a snapshot: a layer that runs in place and keeps (or
  // borrows, see UseBottomSnapshot) a copy of its input for backward (an
  // in-place Scale) can compute its output again from that copy after the
  // blob was recycled; RecomputeFromSnapshot writes top[0] as Forward did,
  // on the layer's device.
  virtual bool CanRecomputeFromSnapshot() const { return false; }
  virtual void RecomputeFromSnapshot(const BlobVec& bottom, const BlobVec& top);
  // The layer's own buffers that the memory planner places like blobs
  // (Reshape shapes them, as it shapes tops): state a layer writes in
  // Forward and reads in Backward (BatchNorm's normalised output, an
  // in-place Scale's input, LRN's denominators). They live from the layer's
  // forward to its backward; with no backward they are scratch, free once
  // the forward is done.
  const std::vector<Blob*>& internal_blobs() const { return internal_blobs_; }
  // Snapshots, so that two layers never keep two copies of one value for
  // backward. TopSnapshot: an internal blob holding top[index]'s value as
  // this layer's forward left it (BatchNorm's normalised output), or null.
  // UseBottomSnapshot: the net offers a layer that runs in place on
  // bottom[index] such a snapshot of that bottom's value as its forward
  // finds it; a layer that would otherwise copy the bottom for its backward
  // (an in-place Scale) takes it, reads it in backward, keeps no copy of its
  // own, and returns true. The snapshot's owner keeps it shaped and written;
  // the planner keeps it alive until the borrower's backward too.
  virtual const Blob* TopSnapshot(int index) const { return nullptr; }
  virtual bool UseBottomSnapshot(int index, const Blob* snapshot) { return false; }

  bool param_propagate_down(int param_id) const {
    return param_id < static_cast<int>(param_propagate_down_.size())
               ? param_propagate_down_[param_id]
               : false;
  }
  void set_param_propagate_down(int param_id, bool value);

  // Data layers: how many records they handed out, and a way to resume there.
  virtual bool IsDataSource() const { return false; }
  virtual int64_t records_consumed() const { return 0; }
  virtual void SeekToRecord(int64_t record) {}
  // Data-parallel training: this process is replica `index` of `count`. A
  // data source then reads a global stream of batches of count x batch_size
  // records and hands out only its share of each: records
  // [index x batch_size, (index + 1) x batch_size) of every global batch. No
  // record is read by two replicas in an epoch, and records_consumed()
  // counts global records, so a snapshot resumes with any replica count.
  virtual void SetDataShard(int index, int count) {}

 protected:
  virtual void ForwardImpl(const BlobVec& bottom, const BlobVec& top) = 0;
  virtual void BackwardImpl(const BlobVec& top,
                            const std::vector<bool>& propagate_down,
                            const BlobVec& bottom) {}
  // The CUDA kernels' entry points, used when runs_on_cuda(). Shape logic
  // stays in Reshape, shared with the CPU path; only the math differs.
  virtual void ForwardGpu(const BlobVec& bottom, const BlobVec& top) {
    ForwardImpl(bottom, top);
  }
  virtual void BackwardGpu(const BlobVec& top, const std::vector<bool>& propagate_down,
                           const BlobVec& bottom) {
    BackwardImpl(top, propagate_down, bottom);
  }
  // Called at the end of SetDevice: layers that own inner layers or nets
  // (SoftmaxWithLoss, SPP, LSTM, RNN) move them to device() here.
  virtual void OnDeviceSet() {}

  // Registers a member Blob as an internal buffer (see internal_blobs()).
  void DeclareInternalBlob(Blob* blob) { internal_blobs_.push_back(blob); }

  // "Layer 'conv1' (Convolution): " — the prefix of every error it raises.
  std::string ErrorPrefix() const;

  // Set by Reshape when the bottom is too small to compute on (a kernel
  // larger than the input) though the net may still be built: Caffe builds
  // nets whose placeholder input_dims (1x1, as published pose models ship
  // them) are reshaped before use. Forward throws it, prefixed with the
  // layer; empty when the shape is usable. Reshape sets or clears it.
  std::string unusable_shape_;

  // Set only for the duration of a Forward given one.
  const Epilogue* epilogue_ = nullptr;

  caffe::LayerParameter layer_param_;
  caffe::Phase phase_;
  std::vector<std::unique_ptr<Blob>> blobs_;
  std::vector<bool> param_propagate_down_;
  std::vector<float> loss_;
  Device device_;
  unsigned devices_ = kLayerCpu;
  bool runs_on_cuda_ = false;
  bool backward_needed_ = true;

 private:
  std::vector<Blob*> internal_blobs_;
  void CheckBlobCounts(const BlobVec& bottom, const BlobVec& top) const;
  void SetLossWeights(const BlobVec& top);
};

}  // namespace cortado

#endif  // CORTADO_LAYER_HPP_
