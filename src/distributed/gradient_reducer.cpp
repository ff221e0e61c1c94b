// Bucketed gradient averaging over a Communicator, overlapped with backward.
#include "cortado/gradient_reducer.hpp"

#include <algorithm>
#include <numeric>

#include "cortado/math.hpp"
#ifdef CORTADO_WITH_CUDA
#include "cortado/math_gpu.hpp"
#endif

namespace cortado {

GradientReducer::GradientReducer(Net* net, Communicator* comm, int64_t bucket_bytes)
    : net_(net), comm_(comm) {
  const std::vector<Blob*>& params = net_->learnable_params();
  const std::vector<int> final_layers = net_->LearnableParamFinalLayers();
  // Backward finishes gradients from the last layer to the first; buckets
  // follow that order, so each replica starts them in the same sequence.
  std::vector<int> order(params.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return final_layers[a] > final_layers[b]; });
  const int64_t bucket_floats = std::max<int64_t>(1, bucket_bytes / int64_t{sizeof(float)});
  for (int id : order) {
    if (params[id]->count() == 0) continue;
    if (buckets_.empty() || buckets_.back().count >= bucket_floats) {
      Bucket bucket;
      bucket.offset = total_count_;
      buckets_.push_back(bucket);
    }
    Bucket& bucket = buckets_.back();
    bucket.params.push_back(id);
    bucket.count += params[id]->count();
    bucket.final_layer = final_layers[id];  // the smallest so far, by the sort
    total_count_ += params[id]->count();
  }
  // Rows of 1024 keep every axis an int even for nets over 2^31 floats.
  buffer_.Reshape({static_cast<int>(total_count_ / 1024 + 1), 1024});
  net_->set_after_layer_backward([this](int layer_id) { OnLayerBackward(layer_id); });
}

GradientReducer::~GradientReducer() { net_->set_after_layer_backward(nullptr); }

void GradientReducer::Arm() {
  armed_ = true;
  next_bucket_ = 0;
}

void GradientReducer::OnLayerBackward(int layer_id) {
  if (!armed_) return;
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].final_layer >= layer_id) {
    StartBucket(buckets_[next_bucket_++]);
  }
  comm_->Poll();
}

void GradientReducer::StartBucket(const Bucket& bucket) {
  const std::vector<Blob*>& params = net_->learnable_params();
  int64_t offset = bucket.offset;
  if (comm_->device_buffers()) {
#ifdef CORTADO_WITH_CUDA
    float* buffer = buffer_.mutable_gpu_data();
    for (int id : bucket.params) {
      gpu::Copy(params[id]->count(), params[id]->gpu_diff(), buffer + offset);
      offset += params[id]->count();
    }
    comm_->StartAllreduceSum(buffer + bucket.offset, bucket.count);
#else
    ThrowError("a GPU communicator in a build without CUDA");
#endif
    return;
  }
  float* buffer = buffer_.mutable_cpu_data();
  for (int id : bucket.params) {
    Copy(params[id]->count(), params[id]->cpu_diff(), buffer + offset);
    offset += params[id]->count();
  }
  comm_->StartAllreduceSum(buffer + bucket.offset, bucket.count);
}

void GradientReducer::FinishBucket(const Bucket& bucket) {
  const std::vector<Blob*>& params = net_->learnable_params();
  const float scale = 1.f / comm_->size();
  int64_t offset = bucket.offset;
  for (int id : bucket.params) {
    Blob* p = params[id];
    if (comm_->device_buffers()) {
#ifdef CORTADO_WITH_CUDA
      gpu::Scale(p->count(), scale, buffer_.gpu_data() + offset, p->mutable_gpu_diff());
#endif
    } else {
      Scale(p->count(), scale, buffer_.cpu_data() + offset, p->mutable_cpu_diff());
    }
    offset += p->count();
  }
}

void GradientReducer::Finish() {
  // Passes that did not arm (or a backward cut short) leave buckets unsent.
  while (next_bucket_ < buckets_.size()) StartBucket(buckets_[next_bucket_++]);
  armed_ = false;
  comm_->WaitAll();
  for (const Bucket& bucket : buckets_) FinishBucket(bucket);
}

}  // namespace cortado
