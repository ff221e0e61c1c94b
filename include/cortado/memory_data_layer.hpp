// MemoryData: a data layer fed from arrays the caller hands it, so a C++
// program can push its own images and labels through a net.
#ifndef CORTADO_MEMORY_DATA_LAYER_HPP_
#define CORTADO_MEMORY_DATA_LAYER_HPP_

#include "cortado/layer.hpp"

namespace cortado {

class MemoryDataLayer : public Layer {
 public:
  explicit MemoryDataLayer(const caffe::LayerParameter& param) : Layer(param) {}

  const char* type() const override { return "MemoryData"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int ExactNumTopBlobs() const override { return 2; }
  bool IsDataSource() const override { return true; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  void Reshape(const BlobVec& bottom, const BlobVec& top) override;

  // Serves `n` items from `data` (n x channels x height x width floats) and
  // `labels` (n floats), batch_size at a time, wrapping around. The arrays
  // stay the caller's and must outlive the layer's use of them; n must be a
  // positive multiple of batch_size. Throws Error otherwise.
  void Reset(const float* data, const float* labels, int n);
  // Changes the batch size; the next Forward serves batches of this size.
  void set_batch_size(int batch_size);
  int batch_size() const { return batch_size_; }
  int channels() const { return channels_; }
  int height() const { return height_; }
  int width() const { return width_; }
  int64_t records_consumed() const override { return consumed_; }
  // SetDataShard keeps the default (no-op): there is no shared source to cut
  // into shares. Each process's caller hands this layer its own arrays, so
  // giving every replica its share of the data is the caller's to do, and
  // consumed_ counts this process's records only.

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;

 private:
  int batch_size_ = 0;
  int channels_ = 0;
  int height_ = 0;
  int width_ = 0;
  const float* data_ = nullptr;
  const float* labels_ = nullptr;
  int n_ = 0;
  int position_ = 0;
  int64_t consumed_ = 0;
};

}  // namespace cortado

#endif  // CORTADO_MEMORY_DATA_LAYER_HPP_
