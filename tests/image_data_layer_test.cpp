// ImageData: images listed in a file, read with OpenCV, resized, shuffled and
// transformed. The test writes its own tiny images.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "cortado/layer.hpp"
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

}  // namespace
}  // namespace cortado
