// Data: reads Datums from an LMDB or LevelDB on a prefetch thread and hands
// out batches; a data-parallel replica hands out its share of each global batch.
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cortado/data_transformer.hpp"
#include "cortado/db.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/rng.hpp"

namespace cortado {
namespace {

// One prefetched batch. A failure while filling it travels with the batch so
// Forward, on the caller's thread, is where the user sees it.
struct Batch {
  std::vector<float> data;
  std::vector<float> label;
  std::exception_ptr error;
};

class DataLayer : public Layer {
 public:
  explicit DataLayer(const caffe::LayerParameter& param) : Layer(param) {}
  ~DataLayer() override { StopPrefetch(); }

  const char* type() const override { return "Data"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int MinTopBlobs() const override { return 1; }
  int MaxTopBlobs() const override { return 2; }
  bool IsDataSource() const override { return true; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override;
  void Reshape(const BlobVec& bottom, const BlobVec& top) override;

  int64_t records_consumed() const override { return records_consumed_; }
  void SeekToRecord(int64_t record) override;
  void SetDataShard(int index, int count) override;

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override;

 private:
  void StartPrefetch();
  void StopPrefetch();
  void PrefetchLoop();
  void FillBatch(Batch* batch);
  // Moves the cursor past n records without parsing them (other replicas'
  // shares), wrapping at the end of the database as FillBatch does.
  void SkipRecords(int64_t n);
  // Restarts the transformer's generator for this replica's share.
  void ReseedForShard();
  // Parses the record under the cursor; errors name the source and the key.
  void ParseCurrent(caffe::Datum* datum) const;
  void PositionCursor(int64_t record);

  std::string source_;
  int batch_size_ = 0;
  bool output_labels_ = false;
  std::unique_ptr<Database> db_;
  std::unique_ptr<DbCursor> cursor_;  // owned by the prefetch thread while it runs
  int64_t db_size_ = 0;
  std::unique_ptr<DataTransformer> transformer_;
  std::vector<int> datum_shape_;  // C x H x W of the stored records
  std::vector<int> top_shape_;    // batch_size x C x H' x W' after cropping
  int64_t datum_count_ = 0;       // floats per transformed datum

  // Record index where counting starts (rand_skip), and records handed out
  // by all replicas together: the global stream's position.
  int64_t start_record_ = 0;
  int64_t records_consumed_ = 0;
  // This process is replica shard_index_ of shard_count_. Written only while
  // the prefetch thread is stopped.
  int shard_index_ = 0;
  int shard_count_ = 1;

  std::vector<std::unique_ptr<Batch>> batches_;
  std::mutex mutex_;
  std::condition_variable free_ready_;
  std::condition_variable full_ready_;
  std::deque<Batch*> free_;
  std::deque<Batch*> full_;
  bool stop_ = false;
  std::exception_ptr error_;  // sticky: once the reader failed, Forward keeps failing
  std::thread thread_;
};

void DataLayer::LayerSetUp(const BlobVec& bottom, const BlobVec& top) {
  const caffe::DataParameter& p = layer_param_.data_param();
  source_ = p.source();
  if (source_.empty()) ThrowError(ErrorPrefix(), "data_param.source is empty");
  if (p.batch_size() == 0) {
    ThrowError(ErrorPrefix(), "data_param.batch_size must be positive");
  }
  batch_size_ = static_cast<int>(p.batch_size());
  const int prefetch = static_cast<int>(p.prefetch());
  if (prefetch <= 0) {
    ThrowError(ErrorPrefix(), "data_param.prefetch must be positive");
  }
  output_labels_ = top.size() > 1;

  try {
    db_ = OpenDatabase(p.backend(), source_, Database::Mode::kRead);
  } catch (const Error& e) {
    ThrowError(ErrorPrefix(), e.what());
  }
  db_size_ = db_->size();
  if (db_size_ == 0) ThrowError(ErrorPrefix(), "database ", source_, " is empty");
  cursor_ = db_->NewCursor();
  transformer_ =
      std::make_unique<DataTransformer>(layer_param_.transform_param(), phase_);
  ReseedForShard();  // SetDataShard may come before set-up

  // rand_skip staggers several readers of one database (Caffe semantics).
  if (p.rand_skip() > 0) {
    start_record_ = static_cast<int64_t>(GlobalRng()() % p.rand_skip()) % db_size_;
  }
  PositionCursor(start_record_);

  caffe::Datum datum;
  ParseCurrent(&datum);
  try {
    std::vector<int> shape = transformer_->InferShape(datum);
    datum_count_ = int64_t{shape[1]} * shape[2] * shape[3];
    top_shape_ = {batch_size_, shape[1], shape[2], shape[3]};
  } catch (const Error& e) {
    ThrowError(ErrorPrefix(), source_, " record '", PrintableKey(cursor_->key()), "': ", e.what());
  }
  datum_shape_ = {datum.channels(), datum.height(), datum.width()};
  Reshape(bottom, top);

  batches_.clear();
  for (int i = 0; i < prefetch; ++i) {
    auto batch = std::make_unique<Batch>();
    batch->data.resize(static_cast<size_t>(batch_size_ * datum_count_));
    batch->label.resize(output_labels_ ? batch_size_ : 0);
    batches_.push_back(std::move(batch));
  }
  StartPrefetch();
}

void DataLayer::Reshape(const BlobVec& bottom, const BlobVec& top) {
  top[0]->Reshape(top_shape_);
  if (output_labels_) top[1]->Reshape({batch_size_});
}

void DataLayer::ForwardImpl(const BlobVec& bottom, const BlobVec& top) {
  Batch* batch = nullptr;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (error_) std::rethrow_exception(error_);
    full_ready_.wait(lock, [this] { return !full_.empty(); });
    batch = full_.front();
    full_.pop_front();
    if (batch->error) {
      error_ = batch->error;
      std::rethrow_exception(error_);
    }
  }
  std::memcpy(top[0]->mutable_cpu_data(), batch->data.data(),
              batch->data.size() * sizeof(float));
  if (output_labels_) {
    std::memcpy(top[1]->mutable_cpu_data(), batch->label.data(),
                batch->label.size() * sizeof(float));
  }
  records_consumed_ += int64_t{shard_count_} * batch_size_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(batch);
  }
  free_ready_.notify_one();
}

void DataLayer::SeekToRecord(int64_t record) {
  StopPrefetch();
  ReseedForShard();  // the reader thread's crops ran ahead, by a timing-dependent count
  // Reduced first: start_record_ + record could overflow for a huge record.
  PositionCursor(start_record_ + record % db_size_);
  records_consumed_ = record;
  error_ = nullptr;
  StartPrefetch();
}

void DataLayer::SetDataShard(int index, int count) {
  CHECK_GE(index, 0);
  CHECK_LT(index, count);
  // Unchanged, the reader keeps what it prefetched: SetDataShard(0, 1) on an
  // unsharded layer changes nothing, crops included.
  if (index == shard_index_ && count == shard_count_) return;
  if (!cursor_) {  // not set up yet: LayerSetUp starts the reader with this share
    shard_index_ = index;
    shard_count_ = count;
    return;
  }
  // Batches already prefetched hold the old share, and the cursor has run
  // ahead of them: restart the reader at the current global batch.
  StopPrefetch();
  shard_index_ = index;
  shard_count_ = count;
  ReseedForShard();
  PositionCursor(start_record_ + records_consumed_ % db_size_);
  error_ = nullptr;
  StartPrefetch();
}

void DataLayer::ReseedForShard() {
  // Replicas are built with one random_seed, so replicas after the first
  // derive their own crop/mirror stream. Replica 0 restarts its set-up seed
  // rather than keeping the generator: the reader thread has transformed a
  // timing-dependent number of batches ahead, and a restart keeps its crops
  // reproducible (those of an unsharded layer from the start of a run). For
  // the same reason SeekToRecord restarts the stream too.
  const uint32_t seed = transformer_->seed();
  transformer_->Reseed(shard_index_ > 0 ? ReplicaSeed(seed, shard_index_) : seed);
}

void DataLayer::PositionCursor(int64_t record) {
  // Keys need not be dense indices, so walk rather than seek by key; even a
  // million records take a fraction of a second and this runs on resume only.
  int64_t steps = ((record % db_size_) + db_size_) % db_size_;
  cursor_->SeekToFirst();
  for (int64_t i = 0; i < steps && cursor_->valid(); ++i) cursor_->Next();
  if (!cursor_->valid()) cursor_->SeekToFirst();
}

void DataLayer::StartPrefetch() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = false;
    free_.clear();
    full_.clear();
    for (auto& batch : batches_) {
      batch->error = nullptr;
      free_.push_back(batch.get());
    }
  }
  thread_ = std::thread(&DataLayer::PrefetchLoop, this);
}

void DataLayer::StopPrefetch() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  free_ready_.notify_all();
  thread_.join();
  // Prefetched but unconsumed batches are dropped; the cursor has moved past
  // them, which is why SeekToRecord repositions it afterwards.
}

void DataLayer::PrefetchLoop() {
  for (;;) {
    Batch* batch = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      free_ready_.wait(lock, [this] { return stop_ || !free_.empty(); });
      if (stop_) return;
      batch = free_.front();
      free_.pop_front();
    }
    try {
      FillBatch(batch);
    } catch (...) {
      batch->error = std::current_exception();
    }
    bool failed = static_cast<bool>(batch->error);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      full_.push_back(batch);
    }
    full_ready_.notify_one();
    if (failed) return;  // the cursor is in an unknown state; stop reading
  }
}

void DataLayer::SkipRecords(int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!cursor_->valid()) cursor_->SeekToFirst();
    cursor_->Next();
  }
}

void DataLayer::FillBatch(Batch* batch) {
  // Between batches the cursor sits at the start of a global batch; this
  // replica's records follow those of the replicas before it.
  SkipRecords(int64_t{shard_index_} * batch_size_);
  caffe::Datum datum;
  for (int i = 0; i < batch_size_; ++i) {
    if (!cursor_->valid()) cursor_->SeekToFirst();
    ParseCurrent(&datum);
    if (datum.channels() != datum_shape_[0] || datum.height() != datum_shape_[1] ||
        datum.width() != datum_shape_[2]) {
      ThrowError(ErrorPrefix(), source_, " record '", PrintableKey(cursor_->key()),
                 "' has shape ", datum.channels(), "x", datum.height(), "x",
                 datum.width(), " but the first record has ", datum_shape_[0],
                 "x", datum_shape_[1], "x", datum_shape_[2]);
    }
    try {
      // Encoded records carry no trustworthy shape fields, so their decoded
      // shape is checked before Transform writes into the batch.
      if (datum.encoded() &&
          transformer_->InferShape(datum) !=
              std::vector<int>{1, top_shape_[1], top_shape_[2], top_shape_[3]}) {
        ThrowError("decoded image shape differs from the first record's");
      }
      transformer_->Transform(datum, batch->data.data() + i * datum_count_);
    } catch (const Error& e) {
      ThrowError(ErrorPrefix(), source_, " record '", PrintableKey(cursor_->key()), "': ",
                 e.what());
    }
    if (output_labels_) batch->label[i] = static_cast<float>(datum.label());
    cursor_->Next();
  }
  SkipRecords(int64_t{shard_count_ - 1 - shard_index_} * batch_size_);
}

void DataLayer::ParseCurrent(caffe::Datum* datum) const {
  if (!datum->ParseFromString(cursor_->value())) {
    ThrowError(ErrorPrefix(), source_, " record '", PrintableKey(cursor_->key()),
               "' is not a valid Datum (", cursor_->value().size(), " bytes)");
  }
}

}  // namespace

CORTADO_REGISTER_LAYER(Data, DataLayer)

}  // namespace cortado
