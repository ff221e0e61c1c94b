// DetectionOutput (SSD): decodes the location predictions against the prior
// boxes, runs greedy non-maximum suppression per class, keeps the
// keep_top_k best detections per image and writes them as a 1 x 1 x K x 7
// top of rows [image_id, label, score, xmin, ymin, xmax, ymax]. When no
// detection survives in the whole batch, the top is one row of -1.
#include <algorithm>
#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

struct Box {
  float xmin, ymin, xmax, ymax;
};

float Area(const Box& b) {
  return b.xmax < b.xmin || b.ymax < b.ymin ? 0.f : (b.xmax - b.xmin) * (b.ymax - b.ymin);
}

// Intersection over union of boxes in normalised coordinates.
float Overlap(const Box& a, const Box& b) {
  const float w = std::min(a.xmax, b.xmax) - std::max(a.xmin, b.xmin);
  const float h = std::min(a.ymax, b.ymax) - std::max(a.ymin, b.ymin);
  if (w <= 0 || h <= 0) return 0.f;
  const float inter = w * h;
  return inter / (Area(a) + Area(b) - inter);
}

class DetectionOutputLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "DetectionOutput"; }
  // Location predictions, class confidences, and PriorBox's top.
  int ExactNumBottomBlobs() const override { return 3; }
  int ExactNumTopBlobs() const override { return 1; }
  bool AllowForceBackward(int bottom_index) const override { return false; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::DetectionOutputParameter& p = layer_param_.detection_output_param();
    if (!p.has_num_classes() || p.num_classes() == 0) {
      ThrowError(ErrorPrefix(), "detection_output_param.num_classes must be set and positive");
    }
    num_classes_ = static_cast<int>(p.num_classes());
    loc_classes_ = p.share_location() ? 1 : num_classes_;
    if (p.nms_param().nms_threshold() < 0) {
      ThrowError(ErrorPrefix(), "detection_output_param.nms_param.nms_threshold must be >= 0");
    }
    if (p.nms_param().eta() <= 0 || p.nms_param().eta() > 1) {
      ThrowError(ErrorPrefix(), "detection_output_param.nms_param.eta must be in (0, 1]");
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    const Blob& prior = *bottom[2];
    if (prior.num_axes() != 3 || prior.shape(1) != 2 || prior.shape(2) % 4 != 0) {
      ThrowError(ErrorPrefix(), "prior bottom must be PriorBox's 1 x 2 x (priors * 4), got ",
                 prior.shape_string());
    }
    num_priors_ = prior.shape(2) / 4;
    const int num = bottom[0]->shape(0);
    if (bottom[0]->count() != int64_t{num} * num_priors_ * loc_classes_ * 4) {
      ThrowError(ErrorPrefix(), "location bottom ", bottom[0]->shape_string(), " should hold ",
                 num_priors_, " priors x ", loc_classes_, " location class(es) x 4 per image");
    }
    if (bottom[1]->shape(0) != num ||
        bottom[1]->count() != int64_t{num} * num_priors_ * num_classes_) {
      ThrowError(ErrorPrefix(), "confidence bottom ", bottom[1]->shape_string(), " should hold ",
                 num_priors_, " priors x ", num_classes_, " classes for each of ", num, " images");
    }
    // The row count is only known after Forward; one row until then.
    top[0]->Reshape({1, 1, 1, 7});
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::DetectionOutputParameter& p = layer_param_.detection_output_param();
    const int num = bottom[0]->shape(0);
    const float* loc = bottom[0]->cpu_data();
    const float* conf = bottom[1]->cpu_data();
    std::vector<float> rows;
    int kept_total = 0;
    for (int n = 0; n < num; ++n) {
      // Decoded boxes per location class.
      std::vector<std::vector<Box>> boxes(loc_classes_, std::vector<Box>(num_priors_));
      for (int k = 0; k < num_priors_; ++k) {
        for (int l = 0; l < loc_classes_; ++l) {
          const float* d = loc + ((int64_t{n} * num_priors_ + k) * loc_classes_ + l) * 4;
          boxes[l][k] = Decode(bottom[2]->cpu_data(), k, d);
        }
      }
      const float* scores = conf + int64_t{n} * num_priors_ * num_classes_;
      std::map<int, std::vector<int>> kept;  // label -> prior indices, best first
      int detections = 0;
      for (int c = 0; c < num_classes_; ++c) {
        if (c == p.background_label_id()) continue;
        kept[c] = Suppress(boxes[p.share_location() ? 0 : c], scores, c);
        detections += static_cast<int>(kept[c].size());
      }
      if (p.keep_top_k() > -1 && detections > p.keep_top_k()) {
        std::vector<std::pair<float, std::pair<int, int>>> all;
        for (const auto& [label, indices] : kept) {
          for (int k : indices) all.push_back({scores[k * num_classes_ + label], {label, k}});
        }
        std::stable_sort(all.begin(), all.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        all.resize(p.keep_top_k());
        std::map<int, std::vector<int>> best;
        for (const auto& entry : all) best[entry.second.first].push_back(entry.second.second);
        kept.swap(best);
      }
      for (const auto& [label, indices] : kept) {
        const std::vector<Box>& class_boxes = boxes[p.share_location() ? 0 : label];
        for (int k : indices) {
          const Box& b = class_boxes[k];
          rows.insert(rows.end(), {float(n), float(label), scores[k * num_classes_ + label], b.xmin,
                                   b.ymin, b.xmax, b.ymax});
          ++kept_total;
        }
      }
    }
    // Consumers check for this row rather than for an empty blob.
    if (kept_total == 0) rows.assign(7, -1.f);
    top[0]->Reshape({1, 1, static_cast<int>(rows.size() / 7), 7});
    std::copy(rows.begin(), rows.end(), top[0]->mutable_cpu_data());
  }

 private:
  // Prior k's box shifted by the encoded offsets d.
  Box Decode(const float* prior_data, int k, const float* d) const {
    const caffe::DetectionOutputParameter& p = layer_param_.detection_output_param();
    const float* pb = prior_data + k * 4;
    const float* var = prior_data + int64_t{num_priors_} * 4 + k * 4;
    float v[4] = {1, 1, 1, 1};
    if (!p.variance_encoded_in_target()) std::copy(var, var + 4, v);
    const float pw = pb[2] - pb[0], ph = pb[3] - pb[1];
    switch (p.code_type()) {
      case caffe::PriorBoxParameter::CORNER:
        return {pb[0] + v[0] * d[0], pb[1] + v[1] * d[1], pb[2] + v[2] * d[2], pb[3] + v[3] * d[3]};
      case caffe::PriorBoxParameter::CORNER_SIZE:
        return {pb[0] + v[0] * d[0] * pw, pb[1] + v[1] * d[1] * ph, pb[2] + v[2] * d[2] * pw,
                pb[3] + v[3] * d[3] * ph};
      case caffe::PriorBoxParameter::CENTER_SIZE:
      default: {
        const float cx = (pb[0] + pb[2]) / 2 + v[0] * d[0] * pw;
        const float cy = (pb[1] + pb[3]) / 2 + v[1] * d[1] * ph;
        const float w = std::exp(v[2] * d[2]) * pw;
        const float h = std::exp(v[3] * d[3]) * ph;
        return {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
      }
    }
  }

  // Greedy NMS for one class: candidates above confidence_threshold, best
  // first (at most nms_param.top_k), each kept unless it overlaps a kept box
  // by more than the (eta-adapted) threshold.
  std::vector<int> Suppress(const std::vector<Box>& boxes, const float* scores, int label) const {
    const caffe::DetectionOutputParameter& p = layer_param_.detection_output_param();
    std::vector<std::pair<float, int>> candidates;
    for (int k = 0; k < num_priors_; ++k) {
      const float s = scores[k * num_classes_ + label];
      if (s > p.confidence_threshold()) candidates.push_back({s, k});
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    if (p.nms_param().has_top_k() && p.nms_param().top_k() > -1 &&
        static_cast<int>(candidates.size()) > p.nms_param().top_k()) {
      candidates.resize(p.nms_param().top_k());
    }
    float threshold = p.nms_param().nms_threshold();
    std::vector<int> kept;
    for (const auto& candidate : candidates) {
      bool keep = true;
      for (int k : kept) {
        if (Overlap(boxes[candidate.second], boxes[k]) > threshold) {
          keep = false;
          break;
        }
      }
      if (keep) {
        kept.push_back(candidate.second);
        if (p.nms_param().eta() < 1 && threshold > 0.5f) threshold *= p.nms_param().eta();
      }
    }
    return kept;
  }

  int num_classes_ = 0;
  int loc_classes_ = 1;
  int num_priors_ = 0;
};

}  // namespace

CORTADO_REGISTER_LAYER(DetectionOutput, DetectionOutputLayer)

}  // namespace cortado
