// The inference fusion pass: finds the chains, folds BatchNorm/Scale into
// the producer's weights, and refolds when those parameters change.
#include "cortado/inference_fusion.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "cortado/net.hpp"

namespace cortado {
namespace {

bool Has(const std::vector<int>& ids, int id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

int CanonicalAxis(int axis, int num_axes) { return axis < 0 ? axis + num_axes : axis; }

// BatchNorm normalises with its stored statistics (the only form that is a
// fixed affine map) when told to, and by default at TEST.
bool UsesGlobalStats(const Layer& layer) {
  const caffe::BatchNormParameter& p = layer.layer_param().batch_norm_param();
  return p.has_use_global_stats() ? p.use_global_stats() : layer.phase() == caffe::TEST;
}

// Dropout outside training multiplies by 1 unless scale_train is off (then
// by 1 - ratio, which is 1 only for ratio 0).
bool IsIdentityDropout(const Layer& layer) {
  if (std::string(layer.type()) != "Dropout" || layer.phase() == caffe::TRAIN) return false;
  const caffe::DropoutParameter& p = layer.layer_param().dropout_param();
  return p.scale_train() || p.dropout_ratio() == 0.f;
}

// The output channels of a Convolution or InnerProduct whose channel axis is
// 1 (the axis BatchNorm and a per-channel Scale work on); 0 otherwise.
int HeadChannels(const Layer& layer, const Blob& bottom, const Blob& top) {
  const std::string type = layer.type();
  int axis = 0, channels = 0;
  if (type == "Convolution") {
    const caffe::ConvolutionParameter& p = layer.layer_param().convolution_param();
    axis = CanonicalAxis(p.axis(), bottom.num_axes());
    channels = static_cast<int>(p.num_output());
  } else if (type == "InnerProduct") {
    const caffe::InnerProductParameter& p = layer.layer_param().inner_product_param();
    axis = CanonicalAxis(p.axis(), bottom.num_axes());
    channels = static_cast<int>(p.num_output());
  } else {
    return 0;
  }
  if (axis != 1 || top.num_axes() < 2 || top.shape(1) != channels) return 0;
  return channels;
}

// "Convolution" -> "conv" etc., for the summary line.
std::string ShortType(const std::string& type) {
  static const std::map<std::string, std::string> names = {
      {"Convolution", "conv"}, {"InnerProduct", "ip"}, {"BatchNorm", "bn"},
      {"Scale", "scale"},      {"ReLU", "relu"},       {"Eltwise", "sum"},
      {"Dropout", "dropout"}};
  auto it = names.find(type);
  return it == names.end() ? type : it->second;
}

}  // namespace

void FoldAffineLayers(const Layer& head, const std::vector<const Layer*>& affine,
                      Blob* folded_weights, Blob* folded_bias) {
  const Blob& weights = *head.blobs()[0];
  const bool transposed = std::string(head.type()) == "InnerProduct" &&
                          head.layer_param().inner_product_param().transpose();
  const int channels = transposed ? weights.shape(1) : weights.shape(0);
  // y' = scale * y + shift per channel, composed in double over the chain.
  std::vector<double> scale(channels, 1.0), shift(channels, 0.0);
  for (const Layer* layer : affine) {
    const auto& blobs = layer->blobs();
    if (std::string(layer->type()) == "BatchNorm") {
      // As BatchNormLayer computes it: sums divided by the decay weight
      // (0 weight: zero statistics), stddev = sqrt(variance + eps).
      const float weight = blobs[2]->cpu_data()[0];
      const float factor = weight == 0 ? 0.f : 1.f / weight;
      const float eps = layer->layer_param().batch_norm_param().eps();
      const float* mean_sum = blobs[0]->cpu_data();
      const float* var_sum = blobs[1]->cpu_data();
      for (int c = 0; c < channels; ++c) {
        const float mean = factor * mean_sum[c];
        const float stddev = std::sqrt(factor * var_sum[c] + eps);
        scale[c] /= stddev;
        shift[c] = (shift[c] - mean) / stddev;
      }
    } else {  // Scale
      const float* gamma = blobs[0]->cpu_data();
      const float* beta = blobs.size() > 1 ? blobs[1]->cpu_data() : nullptr;
      for (int c = 0; c < channels; ++c) {
        scale[c] *= gamma[c];
        shift[c] = shift[c] * gamma[c] + (beta ? beta[c] : 0.f);
      }
    }
  }
  folded_weights->ReshapeLike(weights);
  const float* w = weights.cpu_data();
  float* folded = folded_weights->mutable_cpu_data();
  if (transposed) {  // [inputs, outputs]: channel c is column c
    const int64_t rows = weights.shape(0);
    for (int64_t r = 0; r < rows; ++r) {
      for (int c = 0; c < channels; ++c) {
        folded[r * channels + c] = static_cast<float>(w[r * channels + c] * scale[c]);
      }
    }
  } else {  // channel c is the c-th contiguous block
    const int64_t per_channel = weights.count() / channels;
    for (int c = 0; c < channels; ++c) {
      for (int64_t i = 0; i < per_channel; ++i) {
        const int64_t at = c * per_channel + i;
        folded[at] = static_cast<float>(w[at] * scale[c]);
      }
    }
  }
  folded_bias->Reshape(std::vector<int>{channels});
  const float* bias = head.blobs().size() > 1 ? head.blobs()[1]->cpu_data() : nullptr;
  float* bias_out = folded_bias->mutable_cpu_data();
  for (int c = 0; c < channels; ++c) {
    bias_out[c] = static_cast<float>((bias ? bias[c] : 0.0) * scale[c] + shift[c]);
  }
}

InferenceFusion::InferenceFusion(const Net& net, const std::set<std::string>& keep)
    : net_(net) {
  const int n = static_cast<int>(net.layers().size());
  chain_index_.assign(n, -1);
  std::vector<bool> taken(n, false);
  for (int i = 0; i < n; ++i) {
    if (taken[i]) continue;
    std::unique_ptr<Chain> chain = BuildChain(i, keep, taken);
    if (!chain) continue;
    taken[i] = true;
    chain_index_[i] = static_cast<int>(chains_.size());
    for (int m : chain->members) {
      taken[m] = true;
      chain_index_[m] = static_cast<int>(chains_.size());
    }
    if (!chain->affine.empty()) {
      chain->epilogue.weights = &chain->folded_weights;
      chain->epilogue.bias = &chain->folded_bias;
      Refold(chain.get());
    }
    chains_.push_back(std::move(chain));
  }
  for (int i = 0; i < n; ++i) {
    const Layer& layer = *net.layers()[i];
    if (taken[i] || !IsIdentityDropout(layer) || layer.loss(0) != 0) continue;
    if (net.bottom_ids()[i] == net.top_ids()[i]) dropped_.insert(i);
  }
}

std::unique_ptr<InferenceFusion::Chain> InferenceFusion::BuildChain(
    int head, const std::set<std::string>& keep, const std::vector<bool>& taken) const {
  const auto& layers = net_.layers();
  const auto& bottoms = net_.bottom_ids();
  const auto& tops = net_.top_ids();
  const auto& blobs = net_.blobs();
  const int n = static_cast<int>(layers.size());
  const Layer& producer = *layers[head];
  if (!producer.AcceptsEpilogue() || bottoms[head].size() != 1 || tops[head].size() != 1 ||
      producer.loss(0) != 0 || tops[head][0] == bottoms[head][0]) {
    return nullptr;
  }
  const int channels =
      HeadChannels(producer, *blobs[bottoms[head][0]], *blobs[tops[head][0]]);
  if (channels == 0) return nullptr;

  auto chain = std::make_unique<Chain>();
  chain->head = head;
  chain->last = head;
  // BatchNorm/Scale fold into the weights only before anything non-affine;
  // the epilogue adds, then rectifies.
  enum class Stage { kAffine, kAdded, kRectified } stage = Stage::kAffine;
  int current = tops[head][0];
  while (true) {
    // The chain computes `current` ahead of its readers; that is sound only
    // if exactly one layer reads this value of it (InsertSplits gives every
    // other value its own Split), up to the next layer that writes it.
    int consumer = -1, readers = 0;
    for (int k = chain->last + 1; k < n; ++k) {
      if (Has(bottoms[k], current)) {
        if (consumer < 0) consumer = k;
        ++readers;
      }
      if (Has(tops[k], current)) break;
    }
    if (readers != 1 || taken[consumer]) break;
    const Layer& layer = *layers[consumer];
    if (tops[consumer].size() != 1 || layer.loss(0) != 0) break;
    const int next = tops[consumer][0];
    // Moving on from a blob the next layer does not overwrite leaves it unwritten.
    const bool elides = next != current;
    if (elides && keep.count(net_.blob_names()[current])) break;
    const std::string type = layer.type();
    const bool one_bottom = bottoms[consumer].size() == 1;
    if (type == "BatchNorm" && stage == Stage::kAffine) {
      if (!one_bottom || !UsesGlobalStats(layer) || layer.blobs().size() != 3 ||
          layer.blobs()[0]->count() != channels) {
        break;
      }
      chain->affine.push_back(&layer);
    } else if (type == "Scale" && stage == Stage::kAffine) {
      const caffe::ScaleParameter& p = layer.layer_param().scale_param();
      const size_t expected = p.bias_term() ? 2 : 1;
      if (!one_bottom || layer.blobs().size() != expected ||
          layer.blobs()[0]->shape() != std::vector<int>{channels} ||
          CanonicalAxis(p.axis(), blobs[current]->num_axes()) != 1) {
        break;
      }
      chain->affine.push_back(&layer);
    } else if (type == "ReLU" && stage != Stage::kRectified) {
      if (!one_bottom) break;
      chain->epilogue.relu = true;
      chain->epilogue.negative_slope = layer.layer_param().relu_param().negative_slope();
      stage = Stage::kRectified;
    } else if (type == "Eltwise" && stage == Stage::kAffine) {
      const caffe::EltwiseParameter& p = layer.layer_param().eltwise_param();
      if (p.operation() != caffe::EltwiseParameter::SUM || bottoms[consumer].size() != 2) break;
      bool unit = true;
      for (float c : p.coeff()) unit = unit && c == 1.f;
      if (!unit) break;
      const std::vector<int>& pair = bottoms[consumer];
      const int addend = pair[0] == current ? pair[1] : pair[0];
      if (addend == current || next == addend || next == current) break;
      // The head adds the other operand when it runs, so that operand must
      // be final by then: nothing may write it from the head on.
      bool ready = true;
      for (int k = head; k < consumer && ready; ++k) ready = !Has(tops[k], addend);
      if (!ready) break;
      chain->epilogue.addend = blobs[addend].get();
      stage = Stage::kAdded;
    } else if (!IsIdentityDropout(layer) || !one_bottom) {
      break;
    }
    if (elides) chain->elided.push_back(current);
    chain->members.push_back(consumer);
    chain->last = consumer;
    current = next;
  }
  if (chain->members.empty()) return nullptr;
  chain->top = {blobs[current].get()};
  return chain;
}

void InferenceFusion::Refold(Chain* chain) const {
  const Layer& head = *net_.layers()[chain->head];
  FoldAffineLayers(head, chain->affine, &chain->folded_weights, &chain->folded_bias);
  chain->sources.clear();
  for (const auto& blob : head.blobs()) chain->sources.push_back({blob.get(), 0});
  for (const Layer* layer : chain->affine) {
    for (const auto& blob : layer->blobs()) chain->sources.push_back({blob.get(), 0});
  }
  for (auto& source : chain->sources) source.second = source.first->data_version();
}

void InferenceFusion::RefoldIfChanged() {
  for (auto& chain : chains_) {
    for (const auto& source : chain->sources) {
      if (source.first->data_version() != source.second) {
        Refold(chain.get());
        break;
      }
    }
  }
}

const InferenceFusion::Chain* InferenceFusion::chain_of(int layer_id) const {
  const int index = chain_index_[layer_id];
  return index < 0 ? nullptr : chains_[index].get();
}

bool InferenceFusion::fused_away(int layer_id) const {
  if (dropped(layer_id)) return true;
  const Chain* chain = chain_of(layer_id);
  return chain != nullptr && chain->head != layer_id;
}

std::vector<std::string> InferenceFusion::elided_blob_names() const {
  std::vector<std::string> names;
  for (const auto& chain : chains_) {
    for (int id : chain->elided) names.push_back(net_.blob_names()[id]);
  }
  return names;
}

std::string InferenceFusion::Summary() const {
  std::map<std::string, int> patterns;
  for (const auto& chain : chains_) {
    std::string pattern = ShortType(net_.layers()[chain->head]->type());
    for (int m : chain->members) pattern += "+" + ShortType(net_.layers()[m]->type());
    ++patterns[pattern];
  }
  std::string text;
  for (const auto& entry : patterns) {
    text += StrCat(text.empty() ? "" : ", ", entry.second, "x ", entry.first);
  }
  return StrCat("inference fusion: ", chains_.size(), " chains (", text.empty() ? "none" : text,
                "), ", dropped_.size(), " dropouts skipped, ", elided_blob_names().size(),
                " blobs elided");
}

}  // namespace cortado
