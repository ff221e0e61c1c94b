// Blob shape bookkeeping, storage access and (de)serialisation.
#include "cortado/blob.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"

namespace cortado {
namespace {

constexpr int kMaxBlobAxes = 32;

// IEEE half to float, for NVCaffe's FLOAT16 raw_data.
float HalfToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exponent = 127 - 15 + 1;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3ffu;
      bits = sign | (exponent << 23) | (mantissa << 13);
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float result;
  std::memcpy(&result, &bits, sizeof(result));
  return result;
}

}  // namespace

void Blob::Reshape(const std::vector<int>& shape) {
  if (shape.size() > static_cast<size_t>(kMaxBlobAxes)) {
    ThrowError("blob shape has ", shape.size(), " axes; at most ", kMaxBlobAxes,
               " are supported");
  }
  // The byte size must fit in 64 bits; checked before multiplying, since a
  // signed overflow is undefined.
  constexpr int64_t kMaxCount = std::numeric_limits<int64_t>::max() / sizeof(float);
  int64_t count = 1;
  for (int dim : shape) {
    if (dim < 0) ThrowError("blob dimension must be non-negative, got shape ", StrCat(dim));
    if (dim > 0 && count > kMaxCount / dim) {
      std::string dims;
      for (int d : shape) dims += (dims.empty() ? "" : " x ") + std::to_string(d);
      ThrowError("blob shape ", dims, " has too many elements (the byte size overflows 64 bits)");
    }
    count *= dim;
  }
  shape_ = shape;
  count_ = count;
  if (count_ > capacity_ || !data_) {
    capacity_ = count_;
    data_ = std::make_shared<SyncedMemory>(capacity_ * sizeof(float));
    diff_ = std::make_shared<SyncedMemory>(capacity_ * sizeof(float));
  }
}

void Blob::Reshape(const caffe::BlobShape& shape) {
  std::vector<int> dims;
  for (int i = 0; i < shape.dim_size(); ++i) {
    if (shape.dim(i) > std::numeric_limits<int>::max()) {
      ThrowError("blob dimension ", shape.dim(i), " is too large");
    }
    dims.push_back(static_cast<int>(shape.dim(i)));
  }
  Reshape(dims);
}

int64_t Blob::count(int start_axis, int end_axis) const {
  CHECK_LE(start_axis, end_axis);
  CHECK_GE(start_axis, 0);
  CHECK_LE(end_axis, num_axes());
  int64_t count = 1;
  for (int i = start_axis; i < end_axis; ++i) count *= shape_[i];
  return count;
}

int Blob::CanonicalAxisIndex(int axis) const {
  if (axis < -num_axes() || axis >= num_axes()) {
    ThrowError("axis ", axis, " out of range for a ", num_axes(), "-d blob of shape ",
               shape_string());
  }
  return axis < 0 ? axis + num_axes() : axis;
}

std::string Blob::shape_string() const {
  std::string s;
  for (size_t i = 0; i < shape_.size(); ++i) s += (i ? " " : "") + std::to_string(shape_[i]);
  return s + " (" + std::to_string(count_) + ")";
}

int Blob::LegacyShape(int index) const {
  CHECK_LE(num_axes(), 4) << "legacy accessors need a blob of at most 4 axes";
  if (index >= num_axes() || index < -num_axes()) return 1;
  return shape(index);
}

int64_t Blob::offset(int n, int c, int h, int w) const {
  return ((int64_t(n) * channels() + c) * height() + h) * width() + w;
}

const float* Blob::cpu_data() const {
  CHECK(data_);
  return static_cast<const float*>(data_->cpu_data());
}
const float* Blob::cpu_diff() const {
  CHECK(diff_);
  return static_cast<const float*>(diff_->cpu_data());
}
float* Blob::mutable_cpu_data() {
  CHECK(data_);
  return static_cast<float*>(data_->mutable_cpu_data());
}
float* Blob::mutable_cpu_diff() {
  CHECK(diff_);
  return static_cast<float*>(diff_->mutable_cpu_data());
}
const float* Blob::gpu_data() const {
  CHECK(data_);
  return static_cast<const float*>(data_->gpu_data());
}
const float* Blob::gpu_diff() const {
  CHECK(diff_);
  return static_cast<const float*>(diff_->gpu_data());
}
float* Blob::mutable_gpu_data() {
  CHECK(data_);
  return static_cast<float*>(data_->mutable_gpu_data());
}
float* Blob::mutable_gpu_diff() {
  CHECK(diff_);
  return static_cast<float*>(diff_->mutable_gpu_data());
}

void Blob::ShareData(const Blob& other) {
  CHECK_EQ(count_, other.count());
  data_ = other.data_memory();
}

void Blob::ShareDiff(const Blob& other) {
  CHECK_EQ(count_, other.count());
  diff_ = other.diff_memory();
}

void Blob::SetStorage(std::shared_ptr<SyncedMemory> data, std::shared_ptr<SyncedMemory> diff) {
  const size_t bytes = count_ * sizeof(float);
  if (data) {
    CHECK_GE(data->size(), bytes);
    data_ = std::move(data);
  }
  if (diff) {
    CHECK_GE(diff->size(), bytes);
    diff_ = std::move(diff);
  }
  // Growing past what both sides hold must reallocate.
  capacity_ = std::min<int64_t>(data_->size(), diff_->size()) / sizeof(float);
}

#ifdef CORTADO_WITH_CUDA
namespace {

// Whole-blob math runs where the freshest copy lives, so a net on the GPU
// never drags its parameters back to the host for an update or a norm.
bool FreshOnGpu(const std::shared_ptr<SyncedMemory>& memory) {
  return memory && (memory->head() == SyncedMemory::Head::kAtGpu ||
                    memory->head() == SyncedMemory::Head::kSynced);
}

}  // namespace
#endif

void Blob::Update() {
  if (count_ == 0) return;
#ifdef CORTADO_WITH_CUDA
  if (FreshOnGpu(data_) && FreshOnGpu(diff_)) {
    gpu::Axpy(count_, -1.f, gpu_diff(), mutable_gpu_data());
    return;
  }
#endif
  Axpy(count_, -1.f, cpu_diff(), mutable_cpu_data());
}

float Blob::asum_data() const {
  if (count_ == 0) return 0;
#ifdef CORTADO_WITH_CUDA
  if (FreshOnGpu(data_)) return gpu::Asum(count_, gpu_data());
#endif
  return Asum(count_, cpu_data());
}

float Blob::asum_diff() const {
  if (count_ == 0) return 0;
#ifdef CORTADO_WITH_CUDA
  if (FreshOnGpu(diff_)) return gpu::Asum(count_, gpu_diff());
#endif
  return Asum(count_, cpu_diff());
}

float Blob::sumsq_data() const {
  if (count_ == 0) return 0;
#ifdef CORTADO_WITH_CUDA
  if (FreshOnGpu(data_)) return gpu::SumSquares(count_, gpu_data());
#endif
  return SumSquares(count_, cpu_data());
}

float Blob::sumsq_diff() const {
  if (count_ == 0) return 0;
#ifdef CORTADO_WITH_CUDA
  if (FreshOnGpu(diff_)) return gpu::SumSquares(count_, gpu_diff());
#endif
  return SumSquares(count_, cpu_diff());
}

void Blob::scale_data(float factor) {
  if (count_ == 0) return;
#ifdef CORTADO_WITH_CUDA
  if (FreshOnGpu(data_)) return gpu::Scale(count_, factor, mutable_gpu_data());
#endif
  Scale(count_, factor, mutable_cpu_data());
}

void Blob::scale_diff(float factor) {
  if (count_ == 0) return;
#ifdef CORTADO_WITH_CUDA
  if (FreshOnGpu(diff_)) return gpu::Scale(count_, factor, mutable_gpu_diff());
#endif
  Scale(count_, factor, mutable_cpu_diff());
}

std::vector<int> Blob::ProtoShape(const caffe::BlobProto& proto) {
  std::vector<int> shape;
  if (proto.has_num() || proto.has_channels() || proto.has_height() || proto.has_width()) {
    shape = {proto.num(), proto.channels(), proto.height(), proto.width()};
  } else {
    for (int i = 0; i < proto.shape().dim_size(); ++i) {
      const int64_t dim = proto.shape().dim(i);
      if (dim < 0 || dim > std::numeric_limits<int>::max()) {
        ThrowError("blob dimension ", dim, " (axis ", i, ") is out of range [0, ",
                   std::numeric_limits<int>::max(), "]");
      }
      shape.push_back(static_cast<int>(dim));
    }
  }
  return shape;
}

bool Blob::ShapeEquals(const caffe::BlobProto& proto) const {
  if (proto.has_num() || proto.has_channels() || proto.has_height() || proto.has_width()) {
    // Legacy 4-d dims: this blob matches if its shape, padded on the left
    // with 1s to four axes, equals them (an InnerProduct weight 10x500 was
    // stored as 1x1x10x500).
    if (num_axes() > 4) return false;
    std::vector<int> padded(4 - num_axes(), 1);
    padded.insert(padded.end(), shape_.begin(), shape_.end());
    return padded == std::vector<int>{proto.num(), proto.channels(), proto.height(),
                                      proto.width()};
  }
  return ProtoShape(proto) == shape_;
}

void Blob::FromProto(const caffe::BlobProto& proto, bool reshape) {
  if (reshape) {
    Reshape(ProtoShape(proto));
  } else if (!ShapeEquals(proto)) {
    std::vector<int> theirs = ProtoShape(proto);
    std::string s;
    for (int d : theirs) s += std::to_string(d) + " ";
    ThrowError("blob shape mismatch: expected ", shape_string(), ", file has ", s);
  }
  float* data = mutable_cpu_data();
  if (proto.data_size() > 0) {
    if (proto.data_size() != count_) {
      ThrowError("blob holds ", proto.data_size(), " values but its shape ",
                 shape_string(), " needs ", count_);
    }
    std::memcpy(data, proto.data().data(), sizeof(float) * count_);
  } else if (proto.double_data_size() > 0) {
    if (proto.double_data_size() != count_) {
      ThrowError("blob holds ", proto.double_data_size(), " double values but its shape ",
                 shape_string(), " needs ", count_);
    }
    for (int64_t i = 0; i < count_; ++i) data[i] = static_cast<float>(proto.double_data(i));
  } else if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    const caffe::Type type = proto.raw_data_type();
    size_t element = type == caffe::DOUBLE ? 8 : type == caffe::FLOAT16 ? 2 : 4;
    if (type != caffe::FLOAT && type != caffe::DOUBLE && type != caffe::FLOAT16) {
      ThrowError("raw_data of type ", caffe::Type_Name(type), " is not supported");
    }
    if (raw.size() != element * count_) {
      ThrowError("raw_data has ", raw.size(), " bytes but shape ", shape_string(),
                 " needs ", element * count_);
    }
    for (int64_t i = 0; i < count_; ++i) {
      const char* p = raw.data() + element * i;
      if (type == caffe::FLOAT) {
        std::memcpy(data + i, p, 4);
      } else if (type == caffe::DOUBLE) {
        double d;
        std::memcpy(&d, p, 8);
        data[i] = static_cast<float>(d);
      } else {
        uint16_t h;
        std::memcpy(&h, p, 2);
        data[i] = HalfToFloat(h);
      }
    }
  } else if (count_ > 0) {
    ThrowError("blob of shape ", shape_string(), " has no data in the file");
  }
  if (proto.diff_size() == count_ && count_ > 0) {
    std::memcpy(mutable_cpu_diff(), proto.diff().data(), sizeof(float) * count_);
  } else if (proto.double_diff_size() == count_ && count_ > 0) {
    float* diff = mutable_cpu_diff();
    for (int64_t i = 0; i < count_; ++i) diff[i] = static_cast<float>(proto.double_diff(i));
  }
}

void Blob::ToProto(caffe::BlobProto* proto, bool write_diff) const {
  proto->Clear();
  for (int dim : shape_) proto->mutable_shape()->add_dim(dim);
  const float* data = cpu_data();
  proto->mutable_data()->Add(data, data + count_);
  if (write_diff) {
    const float* diff = cpu_diff();
    proto->mutable_diff()->Add(diff, diff + count_);
  }
}

}  // namespace cortado
