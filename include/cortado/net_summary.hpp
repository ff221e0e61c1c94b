// NetSummary: what `cortado check` reports about a built net without running
// it: per-layer shapes, parameters and MACs, and the memory its blobs need
// with and without lifetime planning.
#ifndef CORTADO_NET_SUMMARY_HPP_
#define CORTADO_NET_SUMMARY_HPP_

#include <cstdint>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/memory_plan.hpp"

namespace cortado {

class Net;

struct LayerSummary {
  std::string name;
  std::string type;
  std::vector<std::string> bottoms;
  std::vector<std::string> tops;
  std::vector<std::vector<int>> top_shapes;
  bool in_place = false;   // some top is one of its bottoms
  int64_t params = 0;      // parameter values the layer owns or shares
  // Multiply-accumulates of one forward pass: exact for Convolution,
  // Deconvolution and InnerProduct; one per output value for element-wise
  // and normalising layers, one per window element for Pooling; 0 for
  // layers that only move data (Split, Concat, Reshape, Input...).
  int64_t macs = 0;
};

struct NetSummary {
  std::string name;
  caffe::Phase phase = caffe::TEST;
  std::vector<LayerSummary> layers;
  int64_t param_count = 0;   // parameter values, each shared blob once
  int64_t param_bytes = 0;
  int64_t total_macs = 0;
  // Inference: the data of every blob. Unplanned is what Caffe keeps: each
  // distinct storage (Split, Flatten and Reshape tops view their bottom's)
  // for the whole run. Planned places each storage in one arena, free after
  // its last reader (net outputs live to the end). The live peak is the
  // lower bound any placement could reach.
  int64_t inference_unplanned_bytes = 0;
  int64_t inference_planned_bytes = 0;
  int64_t inference_live_peak_bytes = 0;
  // Training without a planner: data and diff of every blob, kept for the
  // whole run (storages shared by Flatten/Reshape counted once; Split tops
  // share data, not diff). Planned training needs what each layer's backward
  // reads, which layers do not declare yet.
  int64_t training_unplanned_bytes = 0;
  // From the training planner (blob_memory_plan.hpp) on a net that runs
  // backward: the data and diff storages a step touches, unplanned and
  // planned. -1 until AddTrainingPlan fills them.
  int64_t training_touched_bytes = -1;
  int64_t training_planned_bytes = -1;
  // The same with recompute_cheap_layers, and the layers it runs twice.
  int64_t training_recompute_planned_bytes = -1;
  int training_recomputed_layers = 0;
  // The buffers given to PlanMemory (one per blob, in blob order) and its
  // answer, for tools that want the placement.
  std::vector<BufferUse> inference_buffers;
  MemoryPlan inference_plan;
};

// Summarises `net` as built; reads shapes and parameter sizes only.
NetSummary SummarizeNet(const Net& net);

// Fills the training fields from `training_net`, the same model built to run
// backward (a TRAIN net; check forces backward on a net without a loss).
void AddTrainingPlan(const Net& training_net, NetSummary* summary);

// Sets the batch (first) dimension of everything that feeds the net: Input
// layers, net-level input shapes, and the batch_size of data layers.
void SetBatchSize(int batch, caffe::NetParameter* param);

// How a caffemodel fits a net. Layers with parameters the file lacks and
// mismatched blob counts or shapes are errors; file layers with weights
// that the net lacks are skipped (as CopyTrainedLayersFrom skips them).
struct WeightsReport {
  std::vector<std::string> errors;
  std::vector<std::string> skipped;  // layer names
  int matched = 0;                   // layers whose weights fit
};
WeightsReport CheckWeights(const Net& net, const caffe::NetParameter& weights);

// The report as one JSON object (for `cortado check --json`).
std::string NetSummaryToJson(const NetSummary& summary, const WeightsReport* weights);

// "1.23 GB"-style text for byte counts (powers of 1024), and "4.1 G" for counts.
std::string HumanBytes(int64_t bytes);
std::string HumanCount(int64_t count);

}  // namespace cortado

#endif  // CORTADO_NET_SUMMARY_HPP_
