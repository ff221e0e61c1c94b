// Blob lifetimes of a built net, grouped by the storage they share, and
// their placement in one arena.
#include "cortado/blob_memory_plan.hpp"

#include <algorithm>
#include <climits>
#include <map>
#include <string>

#include "cortado/inference_fusion.hpp"
#include "cortado/net.hpp"

namespace cortado {
namespace {

constexpr int64_t kFloatBytes = sizeof(float);

// Blobs viewing one storage, and the steps between its first and last use.
struct StorageGroup {
  std::vector<int> blobs;
  int64_t bytes = 0;
  int first = INT_MAX;
  int last = -1;
  // Data only: the same split into forward steps and backward reads, for
  // recomputation, which keeps the two apart.
  int forward_last = -1;
  int backward_first = INT_MAX;
  int backward_last = -1;
  int recomputed_by = -1;  // the layer that computes it again in backward
  bool from_snapshot = false;       // ... from its snapshot (see RecomputeChain)
  std::vector<int> then_in_place;   // and the layers that then run in place
  bool kept = false;
  // For a diff: whether some backward writes it. One nobody writes (a Split
  // top that feeds Accuracy) must read as zeros, as unplanned storage does.
  bool written = false;

  bool used() const { return last >= 0; }
};

// Groups blob ids by the SyncedMemory behind their data (or diff). Views
// made by ShareData (Split, Flatten, Reshape, single-top Slice) share it.
std::vector<StorageGroup> GroupByStorage(const Net& net, bool diff, std::vector<int>* group_of) {
  std::map<const SyncedMemory*, int> index;
  std::vector<StorageGroup> groups;
  group_of->assign(net.blobs().size(), -1);
  for (size_t id = 0; id < net.blobs().size(); ++id) {
    const Blob& blob = *net.blobs()[id];
    const SyncedMemory* memory = (diff ? blob.diff_memory() : blob.data_memory()).get();
    if (!memory) continue;  // never shaped
    auto [it, inserted] = index.emplace(memory, static_cast<int>(groups.size()));
    if (inserted) groups.emplace_back();
    StorageGroup& group = groups[it->second];
    group.blobs.push_back(static_cast<int>(id));
    group.bytes = std::max(group.bytes, blob.count() * kFloatBytes);
    (*group_of)[id] = it->second;
  }
  return groups;
}

PlannedStorage MakeStorage(const std::vector<int>& blobs, bool diff, bool recomputed) {
  PlannedStorage storage;
  storage.blobs = blobs;
  storage.diff = diff;
  storage.recomputed = recomputed;
  return storage;
}

void Touch(StorageGroup* group, int step) {
  group->first = std::min(group->first, step);
  group->last = std::max(group->last, step);
}

void TouchInForward(StorageGroup* group, int step) {
  Touch(group, step);
  group->forward_last = std::max(group->forward_last, step);
}

void TouchInBackward(StorageGroup* group, int step) {
  Touch(group, step);
  group->backward_first = std::min(group->backward_first, step);
  group->backward_last = std::max(group->backward_last, step);
}

// The layers that can compute a group's final value again in backward: a
// head, then the cheap layers that run in place on it after the head. The
// head is either the group's producer, cheap to run again from its inputs
// (Pooling, LRN, Concat), or an in-place layer that keeps a snapshot of its
// input (Scale, after a convolution and BatchNorm wrote the blob). No head:
// -1.
struct RecomputeChain {
  int head = -1;
  bool from_snapshot = false;
  std::vector<int> then_in_place;
};

// Picks the groups whose final value is better computed twice than kept
// from forward to backward, and keeps the producers' inputs alive until the
// value is needed again. Heads are taken from the last to the first: a
// recomputed head's input may itself be recomputed, earlier in the same
// backward step (recomputations run in head order).
void ChooseRecomputations(const Net& net, const std::vector<int>& group_of,
                          std::vector<StorageGroup>* data) {
  const int num_layers = static_cast<int>(net.layers().size());
  const auto& need_backward = net.layer_need_backward();
  // Per group: its producers (not counting views), and the layers that
  // modify it in place, in order.
  std::vector<int> producers(data->size(), 0), producer_of(data->size(), -1);
  std::vector<std::vector<int>> in_place(data->size());
  for (int i = 0; i < num_layers; ++i) {
    const auto& bottoms = net.bottom_ids()[i];
    for (int id : net.top_ids()[i]) {
      const int g = group_of[id];
      if (std::find(bottoms.begin(), bottoms.end(), id) != bottoms.end()) {
        if (in_place[g].empty() || in_place[g].back() != i) in_place[g].push_back(i);
        continue;
      }
      const bool view = std::any_of(bottoms.begin(), bottoms.end(),
                                    [&](int b) { return group_of[b] == g; });
      if (!view) {
        ++producers[g];
        producer_of[g] = i;
      }
    }
  }
  const auto last_in_place = [&](int g) { return in_place[g].empty() ? -1 : in_place[g].back(); };
  const auto chain_of = [&](int g) {
    RecomputeChain chain;
    const std::vector<int>& writers = in_place[g];
    size_t t = writers.size();
    while (t > 0 && net.layers()[writers[t - 1]]->CheapToRecompute() &&
           net.top_ids()[writers[t - 1]].size() == 1) {
      --t;
    }
    chain.then_in_place.assign(writers.begin() + t, writers.end());
    if (t > 0) {
      chain.head = writers[t - 1];
      chain.from_snapshot = true;
      if (!net.layers()[chain.head]->CanRecomputeFromSnapshot()) chain.head = -1;
      return chain;
    }
    const int producer = producer_of[g];
    if (producers[g] == 1 && net.layers()[producer]->CheapToRecompute() &&
        net.top_ids()[producer].size() == 1) {
      chain.head = producer;
    }
    return chain;
  };
  std::vector<RecomputeChain> chains(data->size());
  std::vector<std::vector<int>> heads(num_layers);
  for (size_t g = 0; g < data->size(); ++g) {
    chains[g] = chain_of(static_cast<int>(g));
    if (chains[g].head >= 0) heads[chains[g].head].push_back(static_cast<int>(g));
  }
  for (int i = num_layers - 1; i >= 0; --i) {
    for (int g : heads[i]) {
      StorageGroup& group = (*data)[g];
      const RecomputeChain& chain = chains[g];
      if (group.kept) continue;
      // Worth it only when backward reads it after forward is done with it.
      if (group.backward_last < 0 || group.backward_first <= group.forward_last) continue;
      const auto& bottoms = net.bottom_ids()[i];
      if (chain.from_snapshot) {
        // The snapshot lives until the head's backward: it must come later.
        if (!need_backward[i] || group.backward_first > 2 * num_layers - 1 - i) continue;
      } else if (std::any_of(bottoms.begin(), bottoms.end(),
                             [&](int id) { return last_in_place(group_of[id]) > i; })) {
        // The inputs must still hold what the head read: nothing after it
        // may modify them in place.
        continue;
      } else {
        // Keeping the inputs longer must cost less than the value saves (a
        // Sigmoid's input kept instead of its output saves nothing).
        int64_t extended = 0;
        for (int id : bottoms) {
          const StorageGroup& input = (*data)[group_of[id]];
          if (!input.kept && input.last < group.backward_first) extended += input.bytes;
        }
        if (extended >= group.bytes) continue;
      }
      group.recomputed_by = i;
      group.from_snapshot = chain.from_snapshot;
      group.then_in_place = chain.then_in_place;
      if (!chain.from_snapshot) {
        for (int id : bottoms) TouchInBackward(&(*data)[group_of[id]], group.backward_first);
      }
    }
  }
}

}  // namespace

BlobMemoryPlan PlanBlobMemory(const Net& net, const std::set<int>& keep, bool recompute) {
  BlobMemoryPlan plan;
  const int num_layers = static_cast<int>(net.layers().size());
  const auto& need_backward = net.layer_need_backward();
  plan.training = !net.forward_only() &&
                  std::find(need_backward.begin(), need_backward.end(), true) !=
                      need_backward.end();
  const auto backward_step = [&](int layer) { return 2 * num_layers - 1 - layer; };

  std::vector<int> data_group_of, diff_group_of;
  std::vector<StorageGroup> data = GroupByStorage(net, false, &data_group_of);
  std::vector<StorageGroup> diff = GroupByStorage(net, true, &diff_group_of);

  // Data: written and read in forward; in training also read by the
  // backward of each layer that says it reads it.
  for (int i = 0; i < num_layers; ++i) {
    const Layer& layer = *net.layers()[i];
    const bool backward = plan.training && need_backward[i];
    const auto& bottoms = net.bottom_ids()[i];
    for (size_t k = 0; k < bottoms.size(); ++k) {
      StorageGroup* group = &data[data_group_of[bottoms[k]]];
      TouchInForward(group, i);
      if (backward && layer.BackwardReadsBottomData(static_cast<int>(k))) {
        TouchInBackward(group, backward_step(i));
      }
    }
    const auto& tops = net.top_ids()[i];
    for (size_t k = 0; k < tops.size(); ++k) {
      StorageGroup* group = &data[data_group_of[tops[k]]];
      TouchInForward(group, i);
      if (backward && layer.BackwardReadsTopData(static_cast<int>(k))) {
        TouchInBackward(group, backward_step(i));
      }
    }
    if (backward) {
      for (size_t k = 0; k < bottoms.size(); ++k) {
        StorageGroup* group = &diff[diff_group_of[bottoms[k]]];
        Touch(group, backward_step(i));
        if (net.bottom_need_backward()[i][k]) group->written = true;
      }
      for (int id : tops) Touch(&diff[diff_group_of[id]], backward_step(i));
    }
  }
  // A fused chain's head writes the chain's final blob at its own step.
  if (const InferenceFusion* fusion = net.fusion()) {
    std::map<const Blob*, int> id_of;
    for (size_t id = 0; id < net.blobs().size(); ++id) id_of[net.blobs()[id].get()] = id;
    for (int i = 0; i < num_layers; ++i) {
      const InferenceFusion::Chain* chain = fusion->chain_of(i);
      if (!chain || chain->head != i) continue;
      for (const Blob* blob : chain->top) Touch(&data[data_group_of[id_of.at(blob)]], i);
    }
  }

  // What lives outside the arena.
  std::set<const SyncedMemory*> parameter_storage;
  for (const Blob* param : net.params()) {
    parameter_storage.insert(param->data_memory().get());
    parameter_storage.insert(param->diff_memory().get());
  }
  std::set<int> outside(keep.begin(), keep.end());
  outside.insert(net.input_blob_indices().begin(), net.input_blob_indices().end());
  outside.insert(net.output_blob_indices().begin(), net.output_blob_indices().end());
  const auto mark_kept = [&](std::vector<StorageGroup>* groups, bool is_diff) {
    for (StorageGroup& group : *groups) {
      for (int id : group.blobs) {
        const Blob& blob = *net.blobs()[id];
        const SyncedMemory* memory = (is_diff ? blob.diff_memory() : blob.data_memory()).get();
        if (outside.count(id) || parameter_storage.count(memory) ||
            (is_diff && (net.blob_loss_weights()[id] != 0 || !group.written))) {
          group.kept = true;
        }
      }
    }
  };
  mark_kept(&data, false);
  mark_kept(&diff, true);
  if (recompute && plan.training) ChooseRecomputations(net, data_group_of, &data);

  const auto add = [&](const std::vector<StorageGroup>& groups, bool is_diff) {
    for (const StorageGroup& group : groups) {
      if (!group.used() && !group.kept) continue;  // never touched, never allocated
      plan.unplanned_bytes += group.bytes;
      if (group.kept || group.bytes == 0) {
        plan.kept_bytes += group.bytes;
        continue;
      }
      BufferUse use;
      use.name = net.blob_names()[group.blobs[0]] + (is_diff ? " (diff)" : "");
      use.bytes = group.bytes;
      use.first_use = group.first;
      use.last_use = group.recomputed_by >= 0 ? group.forward_last : group.last;
      plan.buffers.push_back(use);
      plan.storages.push_back(MakeStorage(group.blobs, is_diff, false));
      if (group.recomputed_by < 0) continue;
      Recomputation again;
      again.layer = group.recomputed_by;
      again.from_snapshot = group.from_snapshot;
      again.then_in_place = group.then_in_place;
      again.before_backward_of = 2 * num_layers - 1 - group.backward_first;
      again.forward_storages.push_back(static_cast<int>(plan.storages.size()) - 1);
      use.name += " (recomputed)";
      use.first_use = group.backward_first;
      use.last_use = group.backward_last;
      plan.buffers.push_back(use);
      plan.storages.push_back(MakeStorage(group.blobs, is_diff, true));
      again.backward_storages.push_back(static_cast<int>(plan.storages.size()) - 1);
      plan.recomputations.push_back(again);
    }
  };
  add(data, false);
  if (plan.training) add(diff, true);
  // Layers' internal blobs live from the layer's forward to its backward,
  // and to the backward of any layer that borrows it as a snapshot. A
  // recomputed layer's live twice, as its output does: in its forward, and
  // from its second forward to its backward.
  const auto last_reader = [&](int layer) {
    return plan.training && need_backward[layer] ? backward_step(layer) : layer;
  };
  std::map<int, Recomputation*> recomputation_of;
  for (Recomputation& again : plan.recomputations) {
    // From a snapshot, the head's internal blob is that snapshot: kept.
    if (!again.from_snapshot) recomputation_of[again.layer] = &again;
  }
  const auto add_internal = [&](int layer, int k, const BufferUse& use, bool recomputed) {
    plan.buffers.push_back(use);
    PlannedStorage storage;
    storage.layer = layer;
    storage.internal = k;
    storage.recomputed = recomputed;
    plan.storages.push_back(storage);
  };
  for (int i = 0; i < num_layers; ++i) {
    const auto& internals = net.layers()[i]->internal_blobs();
    for (size_t k = 0; k < internals.size(); ++k) {
      const int64_t bytes = internals[k]->count() * kFloatBytes;
      if (bytes == 0) continue;
      plan.unplanned_bytes += bytes;
      BufferUse use;
      use.name = net.layer_names()[i] + " (internal " + std::to_string(k) + ")";
      use.bytes = bytes;
      use.first_use = i;
      use.last_use = last_reader(i);
      for (const Net::BorrowedSnapshot& borrowed : net.borrowed_snapshots()) {
        if (borrowed.blob == internals[k]) {
          use.last_use = std::max(use.last_use, last_reader(borrowed.borrower));
        }
      }
      const auto again = recomputation_of.find(i);
      if (again == recomputation_of.end()) {
        add_internal(i, static_cast<int>(k), use, false);
        continue;
      }
      const int backward_last = use.last_use;
      use.last_use = i;
      add_internal(i, static_cast<int>(k), use, false);
      again->second->forward_storages.push_back(static_cast<int>(plan.storages.size()) - 1);
      use.name += " (recomputed)";
      use.first_use = backward_step(again->second->before_backward_of);
      use.last_use = std::max(backward_last, use.first_use);
      add_internal(i, static_cast<int>(k), use, true);
      again->second->backward_storages.push_back(static_cast<int>(plan.storages.size()) - 1);
    }
  }
  std::sort(plan.recomputations.begin(), plan.recomputations.end(),
            [](const Recomputation& a, const Recomputation& b) { return a.layer < b.layer; });
  plan.placement = PlanMemory(plan.buffers);
  return plan;
}

}  // namespace cortado
