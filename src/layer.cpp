// Layer base: blob-count contracts, loss weights and the forward/backward wrappers.
#include "cortado/layer.hpp"

#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"

namespace cortado {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Layer::Layer(const caffe::LayerParameter& param)
    : layer_param_(param), phase_(param.phase()) {
  // Parameter blobs preloaded in the prototxt (or by the loader) are used
  // as given; layers skip their fillers when blobs_ is already filled.
  for (int i = 0; i < param.blobs_size(); ++i) {
    blobs_.push_back(std::make_unique<Blob>());
    blobs_.back()->FromProto(param.blobs(i));
  }
  layer_param_.clear_blobs();
}

std::string Layer::ErrorPrefix() const {
  return StrCat("layer '", layer_param_.name(), "' (", layer_param_.type(), "): ");
}

void Layer::SetUp(const BlobVec& bottom, const BlobVec& top) {
  CheckBlobCounts(bottom, top);
  LayerSetUp(bottom, top);
  if (param_propagate_down_.size() < blobs_.size()) {
    param_propagate_down_.resize(blobs_.size(), true);
  }
  Reshape(bottom, top);
  SetLossWeights(top);
}

void Layer::CheckBlobCounts(const BlobVec& bottom, const BlobVec& top) const {
  const int nb = static_cast<int>(bottom.size());
  const int nt = static_cast<int>(top.size());
  auto fail = [&](const char* bound, int want, const char* side, int got) {
    ThrowError(ErrorPrefix(), "needs ", bound, " ", want, " ", side, " blob(s), got ", got);
  };
  if (ExactNumBottomBlobs() >= 0 && nb != ExactNumBottomBlobs())
    fail("exactly", ExactNumBottomBlobs(), "bottom", nb);
  if (MinBottomBlobs() >= 0 && nb < MinBottomBlobs())
    fail("at least", MinBottomBlobs(), "bottom", nb);
  if (MaxBottomBlobs() >= 0 && nb > MaxBottomBlobs())
    fail("at most", MaxBottomBlobs(), "bottom", nb);
  if (ExactNumTopBlobs() >= 0 && nt != ExactNumTopBlobs())
    fail("exactly", ExactNumTopBlobs(), "top", nt);
  if (MinTopBlobs() >= 0 && nt < MinTopBlobs())
    fail("at least", MinTopBlobs(), "top", nt);
  if (MaxTopBlobs() >= 0 && nt > MaxTopBlobs())
    fail("at most", MaxTopBlobs(), "top", nt);
  if (EqualNumBottomTopBlobs() && nb != nt) {
    ThrowError(ErrorPrefix(), "needs as many tops as bottoms, got ", nb, " bottom(s) and ",
               nt, " top(s)");
  }
}

void Layer::SetLossWeights(const BlobVec& top) {
  const int declared = layer_param_.loss_weight_size();
  if (declared > 0 && declared != static_cast<int>(top.size())) {
    ThrowError(ErrorPrefix(), "has ", declared, " loss_weight values but ", top.size(),
               " tops; give one per top");
  }
  loss_.assign(top.size(), 0.f);
  for (size_t i = 0; i < top.size(); ++i) {
    float weight = 0;
    if (declared > 0) {
      weight = layer_param_.loss_weight(i);
    } else if (i == 0 && EndsWith(layer_param_.type(), "Loss")) {
      weight = 1;  // loss layers weigh their first top by 1 unless told
    }
    loss_[i] = weight;
    // The top diff carries the weight into Backward (d loss / d top).
    if (weight != 0) Set(top[i]->count(), weight, top[i]->mutable_cpu_diff());
  }
}

void Layer::set_loss(int top_index, float value) {
  if (static_cast<int>(loss_.size()) <= top_index) loss_.resize(top_index + 1, 0.f);
  loss_[top_index] = value;
}

void Layer::set_param_propagate_down(int param_id, bool value) {
  if (static_cast<int>(param_propagate_down_.size()) <= param_id) {
    param_propagate_down_.resize(param_id + 1, true);
  }
  param_propagate_down_[param_id] = value;
}

void Layer::SetDevice(const Device& device) {
  ActivateDevice(device);
  device_ = device;
  runs_on_cuda_ = device.is_cuda() && (devices_ & kLayerCuda) != 0;
  OnDeviceSet();
}

float Layer::Forward(const BlobVec& bottom, const BlobVec& top, const Epilogue* epilogue) {
  CHECK(epilogue == nullptr || AcceptsEpilogue()) << type() << " takes no epilogue";
  Reshape(bottom, top);
  if (!unusable_shape_.empty()) ThrowError(ErrorPrefix(), unusable_shape_);
  // Cleared however Forward leaves, so a later plain Forward computes the
  // layer alone.
  struct EpilogueScope {
    const Epilogue*& slot;
    ~EpilogueScope() { slot = nullptr; }
  } scope{epilogue_};
  epilogue_ = epilogue;
  if (epilogue && epilogue->addend && epilogue->addend->shape() != top[0]->shape()) {
    ThrowError(ErrorPrefix(), "the fused addend has shape ", epilogue->addend->shape_string(),
               " but the output has ", top[0]->shape_string());
  }
  float loss = 0;
  if (runs_on_cuda_) {
#ifdef CORTADO_WITH_CUDA
    ForwardGpu(bottom, top);
    for (size_t i = 0; i < top.size() && i < loss_.size(); ++i) {
      if (loss_[i] == 0) continue;
      loss += gpu::Dot(top[i]->count(), top[i]->gpu_data(), top[i]->gpu_diff());
    }
#endif
    return loss;
  }
  ForwardImpl(bottom, top);
  for (size_t i = 0; i < top.size() && i < loss_.size(); ++i) {
    if (loss_[i] == 0) continue;
    loss += Dot(top[i]->count(), top[i]->cpu_data(), top[i]->cpu_diff());
  }
  return loss;
}

void Layer::Backward(const BlobVec& top, const std::vector<bool>& propagate_down,
                     const BlobVec& bottom) {
  // Forward may have skipped what only Backward reads (MAX pooling's argmax).
  if (!backward_needed_) {
    ThrowError(ErrorPrefix(), "its net never runs this layer's backward (forward-only, or no "
               "gradient reaches it), so its forward kept nothing for one; call Net::Backward, "
               "or use force_backward");
  }
  if (runs_on_cuda_) {
    BackwardGpu(top, propagate_down, bottom);
  } else {
    BackwardImpl(top, propagate_down, bottom);
  }
}

void Layer::ToProto(caffe::LayerParameter* param, bool write_diff) const {
  param->Clear();
  param->CopyFrom(layer_param_);
  param->clear_blobs();
  for (const auto& blob : blobs_) blob->ToProto(param->add_blobs(), write_diff);
}

void Layer::RecomputeFromSnapshot(const BlobVec& bottom, const BlobVec& top) {
  ThrowError(ErrorPrefix(), "keeps no snapshot of its input to recompute its output from");
}

}  // namespace cortado
