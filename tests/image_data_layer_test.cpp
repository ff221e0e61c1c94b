// ImageData: images listed in a file, read with OpenCV, resized, shuffled and
// transformed, resumed from a record and read as data-parallel shards. The
// test writes its own tiny images.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/rng.hpp"
#include "layer_case.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using testing::MakeLayer;
using testing::TempDir;

// Image i is 4x6 BGR with every pixel (i, 10 + i, 20 + i), labelled 100 + i.
void WriteImages(const TempDir& dir, int count, const std::string& list_name = "list.txt") {
  std::ofstream list(dir.File(list_name));
  for (int i = 0; i < count; ++i) {
    cv::Mat image(4, 6, CV_8UC3, cv::Scalar(i, 10 + i, 20 + i));
    const std::string name = "img " + std::to_string(i) + ".png";  // a space in the path
    ASSERT_TRUE(cv::imwrite(dir.File(name), image));
    list << name << " " << 100 + i << "\n";
  }
}

std::string Layer(const TempDir& dir, const std::string& extra,
                  const std::string& transform = "") {
  return "name: 'images' type: 'ImageData' image_data_param { source: '" + dir.File("list.txt") +
         "' root_folder: '" + dir.path().string() + "/' " + extra + " } " + transform;
}

TEST(ImageDataLayerTest, ReadsImagesAndLabelsInListOrder) {
  TempDir dir;
  WriteImages(dir, 3);
  auto layer = MakeLayer(Layer(dir, "batch_size: 2"));
  Blob data, label;
  BlobVec top = {&data, &label};
  layer->SetUp({}, top);
  EXPECT_EQ(data.shape(), (std::vector<int>{2, 3, 4, 6}));
  const std::vector<int> order = {0, 1, 2, 0};  // wraps around
  for (int batch = 0; batch < 2; ++batch) {
    layer->Forward({}, top);
    for (int i = 0; i < 2; ++i) {
      const int image = order[batch * 2 + i];
      EXPECT_EQ(label.cpu_data()[i], 100 + image);
      const float* pixels = data.cpu_data() + i * data.count(1);
      EXPECT_EQ(pixels[0], image);             // B plane
      EXPECT_EQ(pixels[24], 10 + image);       // G plane
      EXPECT_EQ(pixels[48 + 23], 20 + image);  // R plane, last pixel
    }
  }
}

TEST(ImageDataLayerTest, ResizeGrayAndTransform) {
  TempDir dir;
  WriteImages(dir, 2);
  auto layer = MakeLayer(Layer(dir, "batch_size: 1 new_height: 8 new_width: 5 is_color: false",
                               "transform_param { scale: 0.5 mean_value: 1 crop_size: 4 }"),
                         caffe::TEST);
  Blob data, label;
  layer->SetUp({}, {&data, &label});
  EXPECT_EQ(data.shape(), (std::vector<int>{1, 1, 4, 4}));
  layer->Forward({}, {&data, &label});
  layer->Forward({}, {&data, &label});
  // Image 1 in gray is a constant plane; resizing keeps it; then (g - 1) / 2.
  const cv::Mat gray = cv::imread(dir.File("img 1.png"), cv::IMREAD_GRAYSCALE);
  const float expected = (gray.at<uint8_t>(0, 0) - 1.f) * 0.5f;
  for (int i = 0; i < data.count(); ++i) EXPECT_FLOAT_EQ(data.cpu_data()[i], expected);
  EXPECT_EQ(label.cpu_data()[0], 101);
}

TEST(ImageDataLayerTest, ShuffleVisitsEveryImageOncePerEpoch) {
  TempDir dir;
  WriteImages(dir, 6);
  auto layer = MakeLayer(Layer(dir, "batch_size: 3 shuffle: true"));
  Blob data, label;
  layer->SetUp({}, {&data, &label});
  std::vector<int> seen;
  for (int batch = 0; batch < 2; ++batch) {
    layer->Forward({}, {&data, &label});
    for (int i = 0; i < 3; ++i) seen.push_back(static_cast<int>(label.cpu_data()[i]));
  }
  EXPECT_EQ(std::set<int>(seen.begin(), seen.end()).size(), 6u);
}

TEST(ImageDataLayerTest, ErrorsNameTheListAndImage) {
  TempDir dir;
  WriteImages(dir, 1);
  {
    std::ofstream list(dir.File("list.txt"), std::ios::app);
    list << "missing.png 3\n";
  }
  auto layer = MakeLayer(Layer(dir, "batch_size: 2"));
  Blob data, label;
  layer->SetUp({}, {&data, &label});
  try {
    layer->Forward({}, {&data, &label});
    FAIL() << "expected an error for the missing image";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.png"), std::string::npos) << e.what();
  }
  {
    std::ofstream list(dir.File("list.txt"), std::ios::app);
    list << "no_label_here.png\n";
  }
  try {
    MakeLayer(Layer(dir, "batch_size: 1"))->SetUp({}, {&data, &label});
    FAIL() << "expected an error for the malformed line";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("list.txt:3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(MakeLayer("name: 'i' type: 'ImageData' image_data_param { source: '" +
                         dir.File("absent.txt") + "' }")->SetUp({}, {&data, &label}),
               Error);
}

// One ImageData layer; every reader is built under one random seed, as the
// replicas of a data-parallel run are.
class ImageReader {
 public:
  ImageReader(const TempDir& dir, const std::string& extra, const std::string& transform = "") {
    SetRandomSeed(99);
    layer_ = MakeLayer(Layer(dir, extra, transform));
    layer_->SetUp({}, top_);
  }
  // Labels, then data, of the next batch.
  std::vector<float> Forward() {
    layer_->Forward({}, top_);
    std::vector<float> out(label_.cpu_data(), label_.cpu_data() + label_.count());
    out.insert(out.end(), data_.cpu_data(), data_.cpu_data() + data_.count());
    return out;
  }
  cortado::Layer* layer() { return layer_.get(); }

 private:
  Blob data_, label_;
  BlobVec top_ = {&data_, &label_};
  std::unique_ptr<cortado::Layer> layer_;
};

using ImageReplicas = std::vector<std::unique_ptr<ImageReader>>;

// `count` replicas of `batch` images, each positioned at global record
// `seek` (when >= 0) before or after being told its share.
ImageReplicas MakeImageReplicas(const TempDir& dir, int count, int batch,
                                const std::string& extra, int64_t seek = -1,
                                bool seek_first = true) {
  ImageReplicas replicas;
  for (int index = 0; index < count; ++index) {
    auto reader = std::make_unique<ImageReader>(
        dir, "batch_size: " + std::to_string(batch) + " " + extra);
    if (seek >= 0 && seek_first) reader->layer()->SeekToRecord(seek);
    reader->layer()->SetDataShard(index, count);
    if (seek >= 0 && !seek_first) reader->layer()->SeekToRecord(seek);
    replicas.push_back(std::move(reader));
  }
  return replicas;
}

// One iteration of every replica laid out as an unsharded layer of
// count x batch lays out its batch: all labels by replica, then all data.
std::vector<float> ImageGlobalForward(const ImageReplicas& replicas, int batch) {
  std::vector<float> labels, data;
  for (const auto& replica : replicas) {
    const std::vector<float> share = replica->Forward();
    labels.insert(labels.end(), share.begin(), share.begin() + batch);
    data.insert(data.end(), share.begin() + batch, share.end());
  }
  labels.insert(labels.end(), data.begin(), data.end());
  return labels;
}

TEST(ImageDataLayerTest, SeekToRecordContinuesTheShuffledOrder) {
  TempDir dir;
  WriteImages(dir, 5);
  for (const std::string extra : {"shuffle: true", "shuffle: true rand_skip: 4", ""}) {
    SCOPED_TRACE(extra);
    ImageReader straight(dir, "batch_size: 2 " + extra);
    std::vector<float> labels;
    for (int t = 0; t < 9; ++t) {
      const std::vector<float> batch = straight.Forward();
      labels.insert(labels.end(), batch.begin(), batch.begin() + 2);
    }
    if (extra == "shuffle: true") {
      // Epochs are reshuffled: the first two (5 images each) differ.
      EXPECT_NE(std::vector<float>(labels.begin(), labels.begin() + 5),
                std::vector<float>(labels.begin() + 5, labels.begin() + 10));
    }
    // Inside an epoch, at its end and several epochs on.
    for (int start : {0, 3, 5, 8, 12}) {
      ImageReader resumed(dir, "batch_size: 2 " + extra);
      resumed.layer()->SeekToRecord(start);
      EXPECT_EQ(resumed.layer()->records_consumed(), start);
      for (int t = 0; t < 3; ++t) {
        const std::vector<float> batch = resumed.Forward();
        EXPECT_EQ(std::vector<float>(batch.begin(), batch.begin() + 2),
                  std::vector<float>(labels.begin() + start + 2 * t,
                                     labels.begin() + start + 2 * t + 2))
            << "from record " << start << ", batch " << t;
      }
      EXPECT_EQ(resumed.layer()->records_consumed(), start + 6);
    }
  }
  // A record near the solverstate limit is reached directly, not by walking
  // through its epochs.
  ImageReader far(dir, "batch_size: 2 shuffle: true");
  far.layer()->SeekToRecord(int64_t{1} << 62);
  far.Forward();
  EXPECT_EQ(far.layer()->records_consumed(), (int64_t{1} << 62) + 2);
}

TEST(ImageDataLayerTest, ReplicasTogetherReadWhatOneUnshardedLayerReads) {
  TempDir dir;
  WriteImages(dir, 13);
  constexpr int kBatch = 2;
  for (int count : {2, 3}) {
    SCOPED_TRACE("count " + std::to_string(count));
    ImageReplicas replicas = MakeImageReplicas(dir, count, kBatch, "shuffle: true");
    ImageReader whole(dir, "batch_size: " + std::to_string(count * kBatch) + " shuffle: true");
    std::vector<float> first_epoch;
    // Eight global batches of 4 or 6 span two or three shuffled epochs of 13.
    for (int t = 0; t < 8; ++t) {
      const std::vector<float> actual = ImageGlobalForward(replicas, kBatch);
      EXPECT_EQ(actual, whole.Forward()) << "iteration " << t;
      for (const auto& replica : replicas) {
        EXPECT_EQ(replica->layer()->records_consumed(), (t + 1) * count * kBatch);
      }
      first_epoch.insert(first_epoch.end(), actual.begin(), actual.begin() + count * kBatch);
    }
    first_epoch.resize(13);
    std::vector<float> sorted = first_epoch;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 13; ++i) EXPECT_EQ(sorted[i], 100 + i);  // each image once
    EXPECT_FALSE(std::is_sorted(first_epoch.begin(), first_epoch.end()));
  }
}

TEST(ImageDataLayerTest, ResumedReplicasContinueTheGlobalStream) {
  TempDir dir;
  WriteImages(dir, 13);
  constexpr int kBatch = 2;
  ImageReplicas straight = MakeImageReplicas(dir, 2, kBatch, "shuffle: true");
  std::vector<std::vector<float>> straight_batches;
  for (int t = 0; t < 9; ++t) straight_batches.push_back(ImageGlobalForward(straight, kBatch));
  const int64_t snapshot = 4 * 2 * kBatch;  // 16: in the second epoch
  for (bool seek_first : {true, false}) {
    SCOPED_TRACE(seek_first ? "seek first" : "shard first");
    ImageReplicas resumed = MakeImageReplicas(dir, 2, kBatch, "shuffle: true", snapshot,
                                              seek_first);
    for (int t = 4; t < 9; ++t) {
      EXPECT_EQ(ImageGlobalForward(resumed, kBatch), straight_batches[t]) << "iteration " << t;
      EXPECT_EQ(resumed[1]->layer()->records_consumed(), (t + 1) * 2 * kBatch);
    }
  }
  std::vector<float> straight_after;
  for (int t = 4; t < 9; ++t) {
    straight_after.insert(straight_after.end(), straight_batches[t].begin(),
                          straight_batches[t].begin() + 2 * kBatch);
  }
  // Three replicas from the two-replica snapshot read on from record 16.
  for (bool seek_first : {true, false}) {
    SCOPED_TRACE(seek_first ? "3 replicas, seek first" : "3 replicas, shard first");
    ImageReplicas resumed = MakeImageReplicas(dir, 3, kBatch, "shuffle: true", snapshot,
                                              seek_first);
    ImageReader whole(dir, "batch_size: 6 shuffle: true");
    whole.layer()->SeekToRecord(snapshot);
    std::vector<float> resumed_after;
    for (int t = 0; t < 4; ++t) {
      const std::vector<float> actual = ImageGlobalForward(resumed, kBatch);
      EXPECT_EQ(actual, whole.Forward()) << "iteration " << t;
      EXPECT_EQ(resumed[0]->layer()->records_consumed(), snapshot + (t + 1) * 3 * kBatch);
      resumed_after.insert(resumed_after.end(), actual.begin(), actual.begin() + 3 * kBatch);
    }
    resumed_after.resize(straight_after.size());
    EXPECT_EQ(resumed_after, straight_after);
  }
}

TEST(ImageDataLayerTest, OnlyReplicasAfterTheFirstCropDifferently) {
  TempDir dir;
  // Images whose pixels all differ, so a random crop shows where it was cut.
  {
    std::ofstream list(dir.File("list.txt"));
    for (int i = 0; i < 8; ++i) {
      cv::Mat image(4, 6, CV_8UC1);
      for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 6; ++x) image.at<uint8_t>(y, x) = static_cast<uint8_t>(10 * y + x + i);
      const std::string name = "g" + std::to_string(i) + ".png";
      ASSERT_TRUE(cv::imwrite(dir.File(name), image));
      list << name << " " << i << "\n";
    }
  }
  const std::string extra = "batch_size: 4 is_color: false";
  const std::string transform = "transform_param { crop_size: 2 mirror: true }";
  ImageReader plain(dir, extra, transform);
  ImageReader one_of_one(dir, extra, transform);
  one_of_one.layer()->SetDataShard(0, 1);
  ImageReader first_of_two(dir, extra, transform);
  first_of_two.layer()->SetDataShard(0, 2);
  const std::vector<float> plain_first = plain.Forward();
  EXPECT_EQ(one_of_one.Forward(), plain_first);
  EXPECT_EQ(first_of_two.Forward(), plain_first);  // replica 0 keeps the set-up stream
  EXPECT_EQ(one_of_one.Forward(), plain.Forward());
  // Replica 1 of 2 reads images 4..7 first; with the shared seed it would crop
  // them as a fresh reader seeked to 4 does. Reseeded, it crops otherwise.
  ImageReader second(dir, extra, transform);
  second.layer()->SetDataShard(1, 2);
  ImageReader not_reseeded(dir, extra, transform);
  not_reseeded.layer()->SeekToRecord(4);
  const std::vector<float> reseeded = second.Forward();
  const std::vector<float> shared_seed = not_reseeded.Forward();
  EXPECT_EQ(std::vector<float>(reseeded.begin(), reseeded.begin() + 4),
            std::vector<float>(shared_seed.begin(), shared_seed.begin() + 4));
  EXPECT_NE(reseeded, shared_seed);
}

}  // namespace
}  // namespace cortado
