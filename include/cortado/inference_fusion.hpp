// InferenceFusion: the plan by which a TEST net that needs no backward runs
// chains like Convolution -> BatchNorm -> Scale -> (Eltwise SUM) -> ReLU as
// one Convolution (or InnerProduct) with an Epilogue.
//
// What a user reads never changes: net outputs are computed (up to float
// rounding of the folded weights), and so is every blob a chain writes last.
// A chain's non-in-place intermediate blob (MobileNet v2's conv1 before
// conv1/bn) is "elided": nothing writes it. A blob in the keep set is never
// elided; the chain stops before it would be. Parameter blobs are never
// modified: folded weights are private copies here, recomputed whenever a
// source parameter's data version (SyncedMemory::version) changed.
#ifndef CORTADO_INFERENCE_FUSION_HPP_
#define CORTADO_INFERENCE_FUSION_HPP_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cortado/blob.hpp"
#include "cortado/epilogue.hpp"
#include "cortado/layer.hpp"

namespace cortado {

class Net;

// Folds per-channel affine layers (BatchNorm with its stored statistics,
// Scale with or without bias), applied in order after `head` (a
// Convolution, or an InnerProduct, transposed or not, whose output channel
// axis is 1) into one set of weights and a bias: head's weights scaled per
// output channel, and head's bias (0 if it has none) mapped through the
// affine layers. Computed in double per channel. Shared by inference fusion
// and `cortado deploy`, which writes the folded weights into a caffemodel.
void FoldAffineLayers(const Layer& head, const std::vector<const Layer*>& affine,
                      Blob* folded_weights, Blob* folded_bias);

class InferenceFusion {
 public:
  // One producer and the layers folded into it.
  struct Chain {
    int head = -1;             // the Convolution or InnerProduct
    std::vector<int> members;  // the fused-away layers, in layer order
    int last = -1;             // the highest layer index of the chain
    BlobVec top;               // the head writes here: the chain's final blob
    Epilogue epilogue;
    std::vector<int> elided;   // blob ids nothing writes any more
    // BatchNorm and Scale layers folded into the weights, in chain order.
    std::vector<const Layer*> affine;
    Blob folded_weights, folded_bias;
    // Every parameter blob the folded copies derive from, with the data
    // version it had when they were computed.
    std::vector<std::pair<const Blob*, uint64_t>> sources;
  };

  // Plans over `net`, which must be a TEST net none of whose layers needs
  // backward. Blobs named in `keep` are never elided.
  InferenceFusion(const Net& net, const std::set<std::string>& keep);
  CORTADO_DISALLOW_COPY(InferenceFusion);

  bool empty() const { return chains_.empty() && dropped_.empty(); }
  // The chain layer `layer_id` heads or belongs to; null if none.
  const Chain* chain_of(int layer_id) const;
  // An in-place Dropout outside any chain: the identity at TEST, not run.
  bool dropped(int layer_id) const { return dropped_.count(layer_id) > 0; }
  // Layers that do no work of their own: chain members and dropped layers.
  bool fused_away(int layer_id) const;
  const std::vector<std::unique_ptr<Chain>>& chains() const { return chains_; }
  std::vector<std::string> elided_blob_names() const;
  // One line for the log: what was fused.
  std::string Summary() const;

  // Recomputes the folded weights of every chain one of whose source
  // parameters was written since they were last computed.
  void RefoldIfChanged();

 private:
  // Extends a chain from head; returns null when nothing fuses into it.
  std::unique_ptr<Chain> BuildChain(int head, const std::set<std::string>& keep,
                                    const std::vector<bool>& taken) const;
  void Refold(Chain* chain) const;

  const Net& net_;
  std::vector<std::unique_ptr<Chain>> chains_;
  std::vector<int> chain_index_;  // per layer: index into chains_, -1 if none
  std::set<int> dropped_;
};

}  // namespace cortado

#endif  // CORTADO_INFERENCE_FUSION_HPP_
