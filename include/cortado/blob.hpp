// Blob: an N-d float32 array with a matching gradient ("diff") array.
#ifndef CORTADO_BLOB_HPP_
#define CORTADO_BLOB_HPP_

#include <memory>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/synced_memory.hpp"

namespace cortado {

class Blob {
 public:
  Blob() = default;
  explicit Blob(const std::vector<int>& shape) { Reshape(shape); }
  CORTADO_DISALLOW_COPY(Blob);

  // Storage is reallocated only when the new count exceeds the capacity.
  void Reshape(const std::vector<int>& shape);
  void Reshape(const caffe::BlobShape& shape);
  void ReshapeLike(const Blob& other) { Reshape(other.shape()); }

  const std::vector<int>& shape() const { return shape_; }
  // Negative axes count from the end, as in Python.
  int shape(int axis) const { return shape_[CanonicalAxisIndex(axis)]; }
  int num_axes() const { return static_cast<int>(shape_.size()); }
  int64_t count() const { return count_; }
  // Product of dimensions [start_axis, end_axis).
  int64_t count(int start_axis, int end_axis) const;
  int64_t count(int start_axis) const { return count(start_axis, num_axes()); }
  int CanonicalAxisIndex(int axis) const;
  std::string shape_string() const;

  // Legacy 4-d accessors; missing trailing axes read as 1.
  int num() const { return LegacyShape(0); }
  int channels() const { return LegacyShape(1); }
  int height() const { return LegacyShape(2); }
  int width() const { return LegacyShape(3); }
  int LegacyShape(int index) const;

  int64_t offset(int n, int c = 0, int h = 0, int w = 0) const;

  const float* cpu_data() const;
  const float* cpu_diff() const;
  float* mutable_cpu_data();
  float* mutable_cpu_diff();
  const float* gpu_data() const;
  const float* gpu_diff() const;
  float* mutable_gpu_data();
  float* mutable_gpu_diff();

  // Makes this blob view other's storage (parameter sharing, in-place).
  void ShareData(const Blob& other);
  void ShareDiff(const Blob& other);
  // The memory planner's hand-over: the blob's data (or diff) now lives in
  // `memory`, which must hold count() floats; null leaves that side alone.
  // A later Reshape beyond count() gives the blob its own storage again.
  void SetStorage(std::shared_ptr<SyncedMemory> data, std::shared_ptr<SyncedMemory> diff);
  const std::shared_ptr<SyncedMemory>& data_memory() const { return data_; }
  const std::shared_ptr<SyncedMemory>& diff_memory() const { return diff_; }
  // See SyncedMemory::version; 0 before the first Reshape to a non-empty shape.
  uint64_t data_version() const { return data_ ? data_->version() : 0; }

  // data -= diff, the last step of every solver update.
  void Update();
  float asum_data() const;
  float asum_diff() const;
  float sumsq_data() const;
  float sumsq_diff() const;
  void scale_data(float factor);
  void scale_diff(float factor);

  bool ShapeEquals(const caffe::BlobProto& proto) const;
  // Reads data (float, double or NVCaffe raw_data) and, if present, diff.
  // With reshape false, the proto's shape must match this blob's.
  void FromProto(const caffe::BlobProto& proto, bool reshape = true);
  void ToProto(caffe::BlobProto* proto, bool write_diff = false) const;
  // Reads the shape a proto declares, legacy num/channels/height/width too.
  static std::vector<int> ProtoShape(const caffe::BlobProto& proto);

 private:
  std::vector<int> shape_;
  int64_t count_ = 0;
  int64_t capacity_ = 0;
  std::shared_ptr<SyncedMemory> data_;
  std::shared_ptr<SyncedMemory> diff_;
};

}  // namespace cortado

#endif  // CORTADO_BLOB_HPP_
