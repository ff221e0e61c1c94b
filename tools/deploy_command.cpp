// `cortado deploy`: the lean inference net, written in plain BVLC form, and
// what it saves against the net it came from, measured, not assumed.
#include "deploy_command.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <glog/logging.h>

#include "cortado/common.hpp"
#include "cortado/deploy.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "cortado/net_summary.hpp"
#include "cortado/stub_data.hpp"

DECLARE_string(model);
DECLARE_string(weights);
DECLARE_int32(level);
DECLARE_string(stage);
DECLARE_string(stub_shape);
DECLARE_int32(batch);
DEFINE_string(out_model, "", "'deploy': where to write the deployed prototxt");
DEFINE_string(out_weights, "", "'deploy': where to write the deployed caffemodel");

namespace cortado {
namespace {

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : text + ",") {
    if (c != ',') {
      part += c;
    } else if (!part.empty()) {
      parts.push_back(part);
      part.clear();
    }
  }
  return parts;
}

// Median wall time of whole forward passes, after one warm-up pass.
double MedianForwardMs(Net* net, int passes) {
  net->Forward();
  std::vector<double> ms;
  for (int i = 0; i < passes; ++i) {
    const auto start = std::chrono::steady_clock::now();
    net->Forward();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                           start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// The blobs both nets compute that a deploy user reads: the deployed net's
// outputs, and the inputs of the layers producing them (the logits of a
// Softmax that replaced a loss).
std::vector<std::string> ComparedBlobs(const Net& deployed, const Net& original) {
  std::set<std::string> names;
  for (int id : deployed.output_blob_indices()) {
    names.insert(deployed.blob_names()[id]);
    for (size_t i = 0; i < deployed.layers().size(); ++i) {
      const auto& tops = deployed.top_ids()[i];
      if (std::find(tops.begin(), tops.end(), id) == tops.end()) continue;
      for (int b : deployed.bottom_ids()[i]) names.insert(deployed.blob_names()[b]);
    }
  }
  std::vector<std::string> both;
  for (const std::string& name : names) {
    if (!name.empty() && original.has_blob(name)) both.push_back(name);
  }
  return both;
}

}  // namespace

int RunDeployCommand() {
  if (FLAGS_model.empty()) ThrowError("deploy needs --model=<net.prototxt>");
  if (FLAGS_weights.empty()) ThrowError("deploy needs --weights=<net.caffemodel>");
  if (FLAGS_out_model.empty() || FLAGS_out_weights.empty()) {
    ThrowError("deploy needs --out_model=<deploy.prototxt> and --out_weights=<.caffemodel>");
  }
  DeployOptions options;
  options.level = FLAGS_level;
  options.stages = SplitCommas(FLAGS_stage);
  options.batch = FLAGS_batch;
  options.item_shapes = ParseItemShapes(FLAGS_stub_shape);
  DeployResult result = DeployNet(FLAGS_model, SplitCommas(FLAGS_weights), options);
  for (const std::string& change : result.changes) LOG(INFO) << change;
  WriteProtoToTextFile(WithoutBlobs(result.net), FLAGS_out_model);
  WriteProtoToBinaryFile(result.net, FLAGS_out_weights);
  std::printf("Wrote %s and %s: %d BatchNorm/Scale layers folded, %d layers removed, %d made "
              "in place\n",
              FLAGS_out_model.c_str(), FLAGS_out_weights.c_str(), result.folded, result.removed,
              result.made_in_place);

  // Read back what was written, as any other program would.
  Net deployed(FLAGS_out_model, caffe::TEST);
  deployed.CopyTrainedLayersFrom(FLAGS_out_weights, Net::MissingWeights::kError);
  Net& original = *result.original;
  const std::vector<std::string> compared = ComparedBlobs(deployed, original);
  original.KeepBlobs(compared);
  // One random batch through both; inputs the deployed net lacks (labels)
  // read zeros.
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1.f, 1.f);
  for (Blob* input : original.input_blobs()) {
    std::fill(input->mutable_cpu_data(), input->mutable_cpu_data() + input->count(), 0.f);
  }
  for (size_t i = 0; i < deployed.input_blobs().size(); ++i) {
    Blob* ours = deployed.input_blobs()[i];
    const std::string& name = deployed.blob_names()[deployed.input_blob_indices()[i]];
    Blob* theirs = original.blob_by_name(name);
    if (!theirs || theirs->shape() != ours->shape()) {
      ThrowError("deployed input '", name, "' (", ours->shape_string(),
                 ") has no input of that shape in ", FLAGS_model);
    }
    float* data = ours->mutable_cpu_data();
    for (int64_t k = 0; k < ours->count(); ++k) data[k] = uniform(rng);
    std::copy(data, data + ours->count(), theirs->mutable_cpu_data());
  }
  deployed.Forward();
  original.Forward();
  double worst = 0;
  for (const std::string& name : compared) {
    const Blob& want = *original.blob_by_name(name);
    const Blob& got = *deployed.blob_by_name(name);
    if (want.count() != got.count()) ThrowError("blob '", name, "' changed shape when deployed");
    double scale = 0, diff = 0;
    for (int64_t k = 0; k < want.count(); ++k) {
      scale = std::max(scale, std::fabs(double(want.cpu_data()[k])));
      diff = std::max(diff, std::fabs(double(want.cpu_data()[k]) - got.cpu_data()[k]));
    }
    const double relative = diff / std::max(scale, 1e-30);
    worst = std::max(worst, relative);
    std::printf("  %-24s max difference %.3g (%.3g of its largest value)\n", name.c_str(), diff,
                relative);
  }
  if (compared.empty()) LOG(WARNING) << "no output of the deployed net exists in the original";
  if (worst > 1e-4) {
    ThrowError("the deployed net differs from ", FLAGS_model, " by ", worst,
               " of an output's scale (more than 1e-4)");
  }

  const NetSummary before = SummarizeNet(original), after = SummarizeNet(deployed);
  constexpr int kPasses = 5;
  const double ms_before = MedianForwardMs(&original, kPasses);
  const double ms_after = MedianForwardMs(&deployed, kPasses);
  std::printf("%-34s %14s %14s\n", "", "original", "deployed");
  std::printf("%-34s %14zu %14zu\n", "layers", before.layers.size(), after.layers.size());
  std::printf("%-34s %14s %14s\n", "parameters", HumanBytes(before.param_bytes).c_str(),
              HumanBytes(after.param_bytes).c_str());
  std::printf("%-34s %14s %14s\n", "inference blobs, unplanned",
              HumanBytes(before.inference_unplanned_bytes).c_str(),
              HumanBytes(after.inference_unplanned_bytes).c_str());
  std::printf("%-34s %14s %14s\n", "inference blobs, planned",
              HumanBytes(before.inference_planned_bytes).c_str(),
              HumanBytes(after.inference_planned_bytes).c_str());
  std::printf("%-34s %14.3f %14.3f\n", "forward pass, median of 5 (ms)", ms_before, ms_after);
  std::printf("Saved %s of parameters, %s of unplanned blob memory and %.3f ms per forward "
              "pass (%.1f%%)\n",
              HumanBytes(before.param_bytes - after.param_bytes).c_str(),
              HumanBytes(before.inference_unplanned_bytes - after.inference_unplanned_bytes)
                  .c_str(),
              ms_before - ms_after, ms_before > 0 ? 100 * (ms_before - ms_after) / ms_before : 0.0);
  std::fflush(stdout);
  return 0;
}

}  // namespace cortado
