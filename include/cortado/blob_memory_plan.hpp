// BlobMemoryPlan: where a built net's blob data and diffs live when storage
// is planned from their lifetimes (docs/memory.md). Net applies it; `cortado
// check` reports it without allocating anything.
#ifndef CORTADO_BLOB_MEMORY_PLAN_HPP_
#define CORTADO_BLOB_MEMORY_PLAN_HPP_

#include <cstdint>
#include <set>
#include <vector>

#include "cortado/memory_plan.hpp"

namespace cortado {

class Net;

// One storage the planner places: the data (or diff) shared by `blobs`
// (a blob and the views of it that Split, Flatten, Reshape and Slice make),
// or a layer's internal blob (Layer::internal_blobs()).
struct PlannedStorage {
  std::vector<int> blobs;  // blob ids; the first is the one the others view
  bool diff = false;
  // For an internal blob: layers()[layer]->internal_blobs()[internal].
  int layer = -1;
  int internal = -1;
  // The second life of a recomputed output (or of its layer's internal
  // blob): the storage it moves to when the producer runs again in backward
  // (see Recomputation).
  bool recomputed = false;
};

// A cheap layer run again in backward: before the backward of layer
// `before_backward_of`, its top's blobs and its internal blobs move from
// storages `forward_storages` to the parallel `backward_storages` and
// Forward runs once more. Neither lives in between. With `from_snapshot`,
// `layer` runs in place and recomputes its output from the copy of its
// input it keeps for backward (Layer::RecomputeFromSnapshot), which stays
// where it is. Then the cheap layers `then_in_place` that ran in place on
// that output run again, in order.
struct Recomputation {
  int layer = -1;
  bool from_snapshot = false;
  std::vector<int> then_in_place;
  int before_backward_of = -1;
  std::vector<int> forward_storages;
  std::vector<int> backward_storages;
};

struct BlobMemoryPlan {
  // Training (some layer needs backward): one timeline of 2L steps, layer i
  // forward at step i and backward at step 2L-1-i, and diffs are planned
  // too. Inference: L steps, data only.
  bool training = false;
  std::vector<PlannedStorage> storages;  // parallel to buffers
  std::vector<Recomputation> recomputations;  // in layer order
  std::vector<BufferUse> buffers;
  MemoryPlan placement;  // offsets within one arena of placement.arena_bytes
  // Storages left to themselves: net inputs (written before Forward), net
  // outputs and kept blobs (read after it), loss tops' diffs (their loss
  // weight is set once), and views of parameters.
  int64_t kept_bytes = 0;
  // What the net would hold with no planning: data, and in training diffs,
  // of every distinct storage. Planned holds the arena plus kept_bytes.
  int64_t unplanned_bytes = 0;
  int64_t planned_bytes() const { return placement.arena_bytes + kept_bytes; }
};

// Plans `net` as built (after set-up or Reshape). `keep` names blob ids
// whose values the caller reads between passes. Each layer's answers to
// BackwardReadsBottomData/TopData decide how long training keeps data; with
// `recompute`, a training plan drops the outputs of layers that are
// CheapToRecompute between forward and backward.
BlobMemoryPlan PlanBlobMemory(const Net& net, const std::set<int>& keep, bool recompute = false);

}  // namespace cortado

#endif  // CORTADO_BLOB_MEMORY_PLAN_HPP_
