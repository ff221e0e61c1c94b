// MemoryData: serves batches from caller-owned arrays given through Reset.
#include "cortado/memory_data_layer.hpp"

#include <algorithm>

#include "cortado/layer_registry.hpp"
#include "cortado/math.hpp"

namespace cortado {

void MemoryDataLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::MemoryDataParameter& p = layer_param_.memory_data_param();
  batch_size_ = static_cast<int>(p.batch_size());
  channels_ = static_cast<int>(p.channels());
  height_ = static_cast<int>(p.height());
  width_ = static_cast<int>(p.width());
  if (batch_size_ <= 0 || channels_ <= 0 || height_ <= 0 || width_ <= 0) {
    ThrowError(ErrorPrefix(), "memory_data_param needs positive batch_size, channels, height "
               "and width; got ", batch_size_, ", ", channels_, ", ", height_, ", ", width_);
  }
  Reshape(bottom, top);
}

void MemoryDataLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  top[0]->Reshape({batch_size_, channels_, height_, width_});
  top[1]->Reshape({batch_size_});
}

void MemoryDataLayer::Reset(const float* data, const float* labels, int n) {
  if (data == nullptr || labels == nullptr) {
    ThrowError(ErrorPrefix(), "Reset needs both a data and a label array");
  }
  if (n <= 0 || n % batch_size_ != 0) {
    ThrowError(ErrorPrefix(), "Reset got ", n, " items; it needs a positive multiple of the "
               "batch size ", batch_size_);
  }
  data_ = data;
  labels_ = labels;
  n_ = n;
  position_ = 0;
}

void MemoryDataLayer::set_batch_size(int batch_size) {
  if (batch_size <= 0) ThrowError(ErrorPrefix(), "batch size must be positive");
  if (data_ != nullptr && n_ % batch_size != 0) {
    ThrowError(ErrorPrefix(), "batch size ", batch_size, " does not divide the ", n_,
               " items given to Reset");
  }
  batch_size_ = batch_size;
  position_ = 0;
}

void MemoryDataLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  if (data_ == nullptr) {
    ThrowError(ErrorPrefix(), "has no data: call Reset(data, labels, n) before Forward");
  }
  const int64_t item = int64_t(channels_) * height_ * width_;
  // The caller's arrays are copied, not aliased: in-place layers downstream
  // would otherwise write into them.
  Copy(batch_size_ * item, data_ + position_ * item, top[0]->mutable_cpu_data());
  Copy(batch_size_, labels_ + position_, top[1]->mutable_cpu_data());
  position_ = (position_ + batch_size_) % n_;
  consumed_ += batch_size_;
}

CORTADO_REGISTER_LAYER(MemoryData, MemoryDataLayer)

}  // namespace cortado
