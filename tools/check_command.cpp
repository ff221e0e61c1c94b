// `cortado check`: everything `train` or `test` would find wrong with a net,
// and what it costs, without allocating its activations or running a layer.
#include "check_command.hpp"

#include <algorithm>
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "cortado/common.hpp"
#include "cortado/hdf5.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "cortado/net_summary.hpp"
#include "cortado/stub_data.hpp"

DECLARE_string(model);
DECLARE_string(phase);
DECLARE_string(weights);
DECLARE_int32(level);
DECLARE_string(stage);
DECLARE_string(stub_shape);
DEFINE_int32(batch, 0, "'check', 'deploy' and 'export': batch size of the net's inputs "
                        "(0: as the model has it)");
DEFINE_bool(json, false, "'check': print one JSON object instead of the table");

namespace cortado {
namespace {

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : text) {
    if (c == separator) {
      if (!part.empty()) parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  if (!part.empty()) parts.push_back(part);
  return parts;
}

std::string ShapeText(const std::vector<int>& shape) {
  std::string text;
  for (int d : shape) text += (text.empty() ? "" : "x") + std::to_string(d);
  return text.empty() ? "scalar" : text;
}

int64_t PeakRssBytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

void PrintTable(const NetSummary& s) {
  std::printf("Net '%s' (%s), %zu layers\n", s.name.c_str(), caffe::Phase_Name(s.phase).c_str(),
              s.layers.size());
  std::printf("%-28s %-16s %-24s %12s %14s\n", "layer", "type", "top shapes", "params", "MACs");
  for (const LayerSummary& l : s.layers) {
    std::string shapes;
    for (const auto& shape : l.top_shapes) shapes += (shapes.empty() ? "" : " ") + ShapeText(shape);
    const std::string type = l.type + (l.in_place ? " (in place)" : "");
    std::printf("%-28s %-16s %-24s %12lld %14lld\n", l.name.c_str(), type.c_str(), shapes.c_str(),
                static_cast<long long>(l.params), static_cast<long long>(l.macs));
  }
  const double planned_ratio =
      s.inference_unplanned_bytes ? static_cast<double>(s.inference_planned_bytes) /
                                        s.inference_unplanned_bytes
                                  : 0.0;
  std::printf("Totals\n");
  std::printf("  parameters                    %s values, %s\n", HumanCount(s.param_count).c_str(),
              HumanBytes(s.param_bytes).c_str());
  std::printf("  MACs per forward pass         %s\n", HumanCount(s.total_macs).c_str());
  std::printf("  inference blobs, unplanned    %s (every blob's data for the whole run)\n",
              HumanBytes(s.inference_unplanned_bytes).c_str());
  std::printf("  inference blobs, planned      %s (%.2fx; storage reused after its last "
              "reader; lower bound %s)\n",
              HumanBytes(s.inference_planned_bytes).c_str(), planned_ratio,
              HumanBytes(s.inference_live_peak_bytes).c_str());
  std::printf("  training blobs, unplanned     %s (data and diff of every blob)\n",
              HumanBytes(s.training_unplanned_bytes).c_str());
  if (s.training_planned_bytes >= 0) {
    std::printf("  training blobs, touched       %s (data, diffs and layers' internal buffers a step uses)\n",
                HumanBytes(s.training_touched_bytes).c_str());
    std::printf("  training blobs, planned       %s (%.2fx of touched, %.2fx of unplanned)\n",
                HumanBytes(s.training_planned_bytes).c_str(),
                static_cast<double>(s.training_planned_bytes) / s.training_touched_bytes,
                static_cast<double>(s.training_planned_bytes) / s.training_unplanned_bytes);
    std::printf("  training, recomputing         %s (%.2fx of touched; %d cheap layers run "
                "again in backward)\n",
                HumanBytes(s.training_recompute_planned_bytes).c_str(),
                static_cast<double>(s.training_recompute_planned_bytes) /
                    s.training_touched_bytes,
                s.training_recomputed_layers);
  }
  std::printf("  parameters are not included above, nor are layers' other private buffers\n");
}

}  // namespace

std::unique_ptr<Net> BuildNetForCheck(const std::string& model, caffe::Phase phase, int batch,
                                      bool force_backward) {
  if (model.empty()) ThrowError("this command needs --model=<net.prototxt>");
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(model, &param);
  if (force_backward) param.set_force_backward(true);
  param.mutable_state()->set_phase(phase);
  param.mutable_state()->set_level(FLAGS_level);
  for (const std::string& stage : Split(FLAGS_stage, ',')) param.mutable_state()->add_stage(stage);
  if (batch > 0) SetBatchSize(batch, &param);
  // Data layers would open their sources and fill prefetch batches. Every
  // one that declares its shape becomes an Input layer; one that does not
  // (a Data layer without crop_size) is opened only when its source exists.
  StubDataOptions options;
  options.batch_size = batch;
  options.item_shapes = ParseItemShapes(FLAGS_stub_shape);
  caffe::NetParameter stubbed = param;
  options.force = true;
  try {
    StubDataSources(&stubbed, options);
  } catch (const Error&) {
    stubbed = param;
    options.force = false;
    try {
      StubDataSources(&stubbed, options);
    } catch (const Error& e) {
      ThrowError(model, ": ", e.what());
    }
  }
  return std::make_unique<Net>(stubbed, model);
}

int RunCheckCommand() {
  caffe::Phase phase = caffe::TEST;
  if (FLAGS_phase == "TRAIN") {
    phase = caffe::TRAIN;
  } else if (!FLAGS_phase.empty() && FLAGS_phase != "TEST") {
    ThrowError("--phase=", FLAGS_phase, " must be TRAIN or TEST");
  }
  if (FLAGS_batch < 0) ThrowError("--batch=", FLAGS_batch, " must be positive (0: as written)");
  std::unique_ptr<Net> net = BuildNetForCheck(FLAGS_model, phase, FLAGS_batch);
  NetSummary summary = SummarizeNet(*net);
  // Training memory: the TRAIN net, with backward forced when nothing in it
  // has a loss (a deploy net). Built without allocating, like the first.
  {
    std::unique_ptr<Net> training = BuildNetForCheck(FLAGS_model, caffe::TRAIN, FLAGS_batch);
    const auto& need = training->layer_need_backward();
    if (std::find(need.begin(), need.end(), true) == need.end()) {
      training = BuildNetForCheck(FLAGS_model, caffe::TRAIN, FLAGS_batch, true);
    }
    const auto& forced = training->layer_need_backward();
    if (std::find(forced.begin(), forced.end(), true) != forced.end()) {
      AddTrainingPlan(*training, &summary);
    }
  }
  WeightsReport weights;
  const bool have_weights = !FLAGS_weights.empty();
  if (have_weights) {
    for (const std::string& path : Split(FLAGS_weights, ',')) {
      caffe::NetParameter file;
      if (IsHdf5Path(path)) {
        ReadNetParamFromHdf5(path, &file);
      } else {
        ReadNetParamsFromBinaryFile(path, &file);
      }
      WeightsReport one = CheckWeights(*net, file);
      for (std::string& error : one.errors) error = path + ": " + error;
      weights.errors.insert(weights.errors.end(), one.errors.begin(), one.errors.end());
      weights.skipped.insert(weights.skipped.end(), one.skipped.begin(), one.skipped.end());
      weights.matched += one.matched;
    }
  }
  if (FLAGS_json) {
    std::printf("%s\n", NetSummaryToJson(summary, have_weights ? &weights : nullptr).c_str());
  } else {
    PrintTable(summary);
    std::printf("  peak RSS of this check        %s\n", HumanBytes(PeakRssBytes()).c_str());
    if (have_weights) {
      std::printf("Weights %s: %d layers fit", FLAGS_weights.c_str(), weights.matched);
      if (!weights.skipped.empty()) {
        std::printf("; skipped (not in the net):");
        for (const std::string& name : weights.skipped) std::printf(" %s", name.c_str());
      }
      std::printf("\n");
    }
  }
  std::fflush(stdout);
  for (const std::string& error : weights.errors) {
    std::fprintf(stderr, "cortado: error: %s\n", error.c_str());
  }
  return weights.errors.empty() ? 0 : 1;
}

}  // namespace cortado
