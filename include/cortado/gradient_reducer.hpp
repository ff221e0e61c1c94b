// GradientReducer: averages a net's parameter gradients over the replicas of
// a Communicator during backward. Gradients travel in buckets of about
// bucket_bytes, each started as soon as the backward pass has finished every
// gradient in it, so communication overlaps the rest of backward (the scheme
// of PyTorch's DDP and Horovod).
#ifndef CORTADO_GRADIENT_REDUCER_HPP_
#define CORTADO_GRADIENT_REDUCER_HPP_

#include <cstdint>
#include <vector>

#include "cortado/blob.hpp"
#include "cortado/common.hpp"
#include "cortado/communicator.hpp"
#include "cortado/net.hpp"

namespace cortado {

class GradientReducer {
 public:
  // 4 MB: large enough that per-message latency is small, small enough that
  // the first bucket starts early in backward. Measured with OpenMPI 4.1 on
  // loopback (bench/allreduce_bench.cpp), a nonblocking allreduce moves 14
  // GB/s at 4 MB but falls to 0.4 GB/s above 16 MB, so DDP's 25 MB would
  // be 30 times slower here.
  static constexpr int64_t kDefaultBucketBytes = 4 << 20;

  // Neither is owned; both must outlive the reducer.
  GradientReducer(Net* net, Communicator* comm, int64_t bucket_bytes = kDefaultBucketBytes);
  ~GradientReducer();
  CORTADO_DISALLOW_COPY(GradientReducer);

  // Makes the next backward pass start reductions as gradients become final
  // (call it before the last pass of iter_size; earlier passes accumulate).
  void Arm();
  // Starts what the pass did not, waits for every bucket and writes the
  // average (sum / replicas) back into each parameter's diff.
  void Finish();

  // Bytes of gradient each replica sends into the allreduce per iteration.
  int64_t bytes_per_iteration() const { return total_count_ * int64_t{sizeof(float)}; }
  int num_buckets() const { return static_cast<int>(buckets_.size()); }

 private:
  struct Bucket {
    std::vector<int> params;  // learnable parameter ids
    int64_t offset = 0;       // first float in buffer_
    int64_t count = 0;
    int final_layer = 0;      // startable once backward has passed this layer
  };
  void OnLayerBackward(int layer_id);
  void StartBucket(const Bucket& bucket);
  void FinishBucket(const Bucket& bucket);

  Net* net_;
  Communicator* comm_;
  std::vector<Bucket> buckets_;  // in the order backward completes them
  int64_t total_count_ = 0;
  Blob buffer_;                  // every bucket back to back
  size_t next_bucket_ = 0;
  bool armed_ = false;
};

}  // namespace cortado

#endif  // CORTADO_GRADIENT_REDUCER_HPP_
