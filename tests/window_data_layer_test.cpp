// WindowData: a window file over tiny generated PNGs; batch shapes, the
// foreground/background split and labels, exact crop content for warp,
// context padding and square mode, mirroring, data-parallel replicas, and
// errors that name the file and line.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <fstream>
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

// A 16x16 BGR image whose pixel (x, y) is (10x, 10y, 7): crop content then
// tells exactly which source pixel it came from.
void WriteGradientImage(const std::string& path) {
  cv::Mat image(16, 16, CV_8UC3);
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(10 * x, 10 * y, 7);
  }
  ASSERT_TRUE(cv::imwrite(path, image));
}

struct WindowLine {
  int label;
  float overlap;
  int x1, y1, x2, y2;
};

// Appends one image block in Caffe's window file format.
void AppendImage(std::ofstream* out, int index, const std::string& path,
                 const std::vector<WindowLine>& windows) {
  *out << "# " << index << "\n" << path << "\n3\n16\n16\n" << windows.size() << "\n";
  for (const WindowLine& w : windows) {
    *out << w.label << " " << w.overlap << " " << w.x1 << " " << w.y1 << " " << w.x2 << " "
         << w.y2 << "\n";
  }
}

std::string LayerText(const std::string& source, const std::string& window_extra,
                      const std::string& transform = "crop_size: 4") {
  return "name: 'windows' type: 'WindowData' top: 'data' top: 'label' "
         "window_data_param { source: '" + source + "' " + window_extra +
         " } transform_param { " + transform + " }";
}

// B, G and R of crop pixel (x, y) of batch item i.
float Pixel(const Blob& data, int i, int c, int y, int x) {
  return data.cpu_data()[((i * 3 + c) * data.shape(2) + y) * data.shape(3) + x];
}

// One window in one image; every batch item is that window.
class SingleWindow {
 public:
  SingleWindow(const WindowLine& window, const std::string& window_extra,
               const std::string& transform, bool cache = false) {
    WriteGradientImage(dir_.File("g.png"));
    {
      std::ofstream out(dir_.File("windows.txt"));
      AppendImage(&out, 0, "g.png", {window});
    }
    layer_ = MakeLayer(LayerText(dir_.File("windows.txt"),
                                 "batch_size: 2 fg_fraction: 1 root_folder: '" +
                                     dir_.path().string() + "/' " + window_extra +
                                     (cache ? " cache_images: true" : ""),
                                 transform));
    layer_->SetUp({}, {&data_, &label_});
    layer_->Forward({}, {&data_, &label_});
  }
  const Blob& data() const { return data_; }
  const Blob& label() const { return label_; }

 private:
  TempDir dir_;
  std::unique_ptr<Layer> layer_;
  Blob data_, label_;
};

TEST(WindowDataLayerTest, WarpOfAWindowTheCropSizeCopiesItsPixels) {
  for (bool cache : {false, true}) {
    SingleWindow w({1, 0.9f, 3, 5, 6, 8}, "", "crop_size: 4", cache);
    ASSERT_EQ(w.data().shape(), (std::vector<int>{2, 3, 4, 4}));
    ASSERT_EQ(w.label().shape(), (std::vector<int>{2}));
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(w.label().cpu_data()[i], 1);
      for (int y = 0; y < 4; ++y) {
        for (int x = 0; x < 4; ++x) {
          EXPECT_EQ(Pixel(w.data(), i, 0, y, x), 10 * (3 + x)) << x << "," << y;
          EXPECT_EQ(Pixel(w.data(), i, 1, y, x), 10 * (5 + y)) << x << "," << y;
          EXPECT_EQ(Pixel(w.data(), i, 2, y, x), 7);
        }
      }
    }
  }
}

TEST(WindowDataLayerTest, WarpResamplesTheWindowToTheCrop) {
  // An 8x4 window squeezed to 4x4: each crop column averages two source
  // columns (bilinear at exactly half scale); rows map one to one.
  SingleWindow w({2, 1.f, 4, 2, 11, 5}, "", "crop_size: 4 scale: 0.5 mean_value: 1");
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      EXPECT_FLOAT_EQ(Pixel(w.data(), 0, 0, y, x), (10 * (4 + 2 * x) + 5 - 1) * 0.5f);
      EXPECT_FLOAT_EQ(Pixel(w.data(), 0, 1, y, x), (10 * (2 + y) - 1) * 0.5f);
      EXPECT_FLOAT_EQ(Pixel(w.data(), 0, 2, y, x), (7 - 1) * 0.5f);
    }
  }
  EXPECT_EQ(w.label().cpu_data()[0], 2);
}

TEST(WindowDataLayerTest, ContextPadGrowsTheWindowAndPadsOutsideTheImage) {
  // crop 8, context_pad 2: the window fills the middle 4x4 of the crop, so
  // it is grown to twice its size. Window 6..9 grows to 4..11: one to one.
  {
    SingleWindow w({1, 1.f, 6, 6, 9, 9}, "context_pad: 2", "crop_size: 8");
    for (int y = 0; y < 8; ++y) {
      for (int x = 0; x < 8; ++x) {
        EXPECT_EQ(Pixel(w.data(), 0, 0, y, x), 10 * (4 + x));
        EXPECT_EQ(Pixel(w.data(), 0, 1, y, x), 10 * (4 + y));
      }
    }
  }
  // In the corner the grown box -2..5 leaves the image: two columns and rows
  // of zero padding, then source pixels 0..5.
  SingleWindow w({1, 1.f, 0, 0, 3, 3}, "context_pad: 2", "crop_size: 8");
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      const bool padding = x < 2 || y < 2;
      EXPECT_EQ(Pixel(w.data(), 0, 0, y, x), padding ? 0 : 10 * (x - 2)) << x << "," << y;
      EXPECT_EQ(Pixel(w.data(), 0, 1, y, x), padding ? 0 : 10 * (y - 2)) << x << "," << y;
      EXPECT_EQ(Pixel(w.data(), 0, 2, y, x), padding ? 0 : 7) << x << "," << y;
    }
  }
}

TEST(WindowDataLayerTest, SquareModeSquaresTheWindowAboutItsCentre) {
  // A 4-wide, 2-tall window becomes the 4x4 square rows 5..8, columns 4..7.
  SingleWindow w({1, 1.f, 4, 6, 7, 7}, "crop_mode: 'square'", "crop_size: 4");
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      EXPECT_EQ(Pixel(w.data(), 0, 0, y, x), 10 * (4 + x));
      EXPECT_EQ(Pixel(w.data(), 0, 1, y, x), 10 * (5 + y));
    }
  }
}

TEST(WindowDataLayerTest, MirrorFlipsSomeCropsHorizontally) {
  TempDir dir;
  WriteGradientImage(dir.File("g.png"));
  {
    std::ofstream out(dir.File("windows.txt"));
    AppendImage(&out, 0, dir.File("g.png"), {{1, 1.f, 3, 5, 6, 8}});
  }
  auto layer = MakeLayer(LayerText(dir.File("windows.txt"), "batch_size: 16 fg_fraction: 1",
                                   "crop_size: 4 mirror: true"));
  Blob data, label;
  layer->SetUp({}, {&data, &label});
  layer->Forward({}, {&data, &label});
  int flipped = 0;
  for (int i = 0; i < 16; ++i) {
    const bool is_flipped = Pixel(data, i, 0, 0, 0) == 60;
    flipped += is_flipped;
    for (int x = 0; x < 4; ++x) {
      EXPECT_EQ(Pixel(data, i, 0, 2, x), 10 * (is_flipped ? 6 - x : 3 + x)) << "item " << i;
      EXPECT_EQ(Pixel(data, i, 1, 2, x), 70);
    }
  }
  // 16 fair coins: all equal has probability 2^-15.
  EXPECT_GT(flipped, 0);
  EXPECT_LT(flipped, 16);
}

// Five images, each one plain colour (R = 50 + 10 * image) with one window:
// two foreground (classes 1 and 2), two background and one between the
// thresholds that must never be drawn.
TEST(WindowDataLayerTest, BatchesSplitForegroundAndBackgroundByThresholds) {
  TempDir dir;
  const std::vector<WindowLine> windows = {
      {1, 0.9f, 0, 0, 7, 7}, {2, 0.5f, 2, 2, 9, 9}, {3, 0.1f, 0, 0, 15, 15},
      {4, 0.29f, 1, 1, 5, 5}, {5, 0.4f, 0, 0, 3, 3}};
  {
    std::ofstream out(dir.File("windows.txt"));
    for (int i = 0; i < 5; ++i) {
      const std::string name = "img" + std::to_string(i) + ".png";
      ASSERT_TRUE(cv::imwrite(dir.File(name), cv::Mat(16, 16, CV_8UC3,
                                                      cv::Scalar(1, 2, 50 + 10 * i))));
      AppendImage(&out, i, name, {windows[i]});
    }
  }
  auto layer = MakeLayer(LayerText(dir.File("windows.txt"),
                                   "batch_size: 8 fg_threshold: 0.5 bg_threshold: 0.3 "
                                   "fg_fraction: 0.25 root_folder: '" + dir.path().string() + "/'",
                                   "crop_size: 3"));
  Blob data, label;
  layer->SetUp({}, {&data, &label});
  EXPECT_EQ(data.shape(), (std::vector<int>{8, 3, 3, 3}));
  std::set<int> seen;
  for (int batch = 0; batch < 20; ++batch) {
    layer->Forward({}, {&data, &label});
    for (int i = 0; i < 8; ++i) {
      const int image = (static_cast<int>(Pixel(data, i, 2, 1, 1)) - 50) / 10;
      ASSERT_GE(image, 0);
      ASSERT_LT(image, 5);
      seen.insert(image);
      if (i < 6) {
        // floor(8 * 0.25) = 2 foreground items, at the end of the batch.
        EXPECT_TRUE(image == 2 || image == 3) << "item " << i << " drew image " << image;
        EXPECT_EQ(label.cpu_data()[i], 0) << "background is class 0";
      } else {
        EXPECT_TRUE(image == 0 || image == 1) << "item " << i << " drew image " << image;
        EXPECT_EQ(label.cpu_data()[i], windows[image].label);
      }
    }
  }
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2, 3}));  // never image 4, between the thresholds
  EXPECT_EQ(layer->records_consumed(), 160);
}

// Which windows a layer draws in four batches of 8, when built under one
// random seed (as every replica of a data-parallel run is) and told it is
// replica index of count (count 0: never told; before: told before set-up).
struct Draws {
  std::vector<int> windows;
  int64_t records = 0;
};

Draws DrawWindows(const std::string& source, int index, int count, bool before = false) {
  SetRandomSeed(5);
  auto layer = MakeLayer(LayerText(source, "batch_size: 8 fg_fraction: 1", "crop_size: 4"));
  Blob data, label;
  if (count > 0 && before) layer->SetDataShard(index, count);
  layer->SetUp({}, {&data, &label});
  if (count > 0 && !before) layer->SetDataShard(index, count);
  Draws draws;
  for (int batch = 0; batch < 4; ++batch) {
    layer->Forward({}, {&data, &label});
    // Window i starts at column i of the gradient image: B = 10 * column.
    for (int i = 0; i < 8; ++i) {
      draws.windows.push_back(static_cast<int>(Pixel(data, i, 0, 0, 0)) / 10);
    }
  }
  draws.records = layer->records_consumed();
  return draws;
}

TEST(WindowDataLayerTest, ReplicasDrawTheirOwnWindows) {
  TempDir dir;
  WriteGradientImage(dir.File("g.png"));
  {
    std::vector<WindowLine> windows;
    for (int x = 0; x < 12; ++x) windows.push_back({1, 1.f, x, 0, x + 3, 3});
    std::ofstream out(dir.File("windows.txt"));
    AppendImage(&out, 0, dir.File("g.png"), windows);
  }
  const std::string source = dir.File("windows.txt");
  const Draws plain = DrawWindows(source, 0, 0);
  EXPECT_EQ(plain.records, 32);
  EXPECT_GT(std::set<int>(plain.windows.begin(), plain.windows.end()).size(), 1u);
  // Replica 0 keeps the set-up seed's stream, sharded or not.
  EXPECT_EQ(DrawWindows(source, 0, 1).windows, plain.windows);
  const Draws first_of_two = DrawWindows(source, 0, 2);
  EXPECT_EQ(first_of_two.windows, plain.windows);
  // Records count all replicas together.
  EXPECT_EQ(DrawWindows(source, 0, 1).records, 32);
  EXPECT_EQ(first_of_two.records, 64);
  // Other replicas draw streams of their own, reproducibly, and whether told
  // their share before set-up or after.
  const Draws second_of_two = DrawWindows(source, 1, 2);
  EXPECT_NE(second_of_two.windows, plain.windows);
  EXPECT_EQ(second_of_two.records, 64);
  EXPECT_EQ(DrawWindows(source, 1, 2).windows, second_of_two.windows);
  EXPECT_EQ(DrawWindows(source, 1, 2, true).windows, second_of_two.windows);
  const Draws third_of_three = DrawWindows(source, 2, 3);
  EXPECT_NE(third_of_three.windows, plain.windows);
  EXPECT_NE(third_of_three.windows, second_of_two.windows);
  EXPECT_EQ(third_of_three.records, 96);
}

std::string SetUpError(const std::string& text) {
  auto layer = MakeLayer(text);
  Blob data, label;
  try {
    layer->SetUp({}, {&data, &label});
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(WindowDataLayerTest, MissingWindowFileNamesIt) {
  TempDir dir;
  const std::string error =
      SetUpError(LayerText(dir.File("absent.txt"), "batch_size: 2"));
  EXPECT_NE(error.find("'windows'"), std::string::npos) << error;
  EXPECT_NE(error.find("absent.txt"), std::string::npos) << error;
  EXPECT_NE(error.find("window_data_param.source"), std::string::npos) << error;
}

TEST(WindowDataLayerTest, MalformedWindowFileNamesFileAndLine) {
  TempDir dir;
  WriteGradientImage(dir.File("g.png"));
  const std::string source = dir.File("windows.txt");
  auto error_for = [&](const std::string& contents) {
    std::ofstream(source) << contents;
    return SetUpError(LayerText(source, "batch_size: 2"));
  };
  const std::string image = dir.File("g.png");
  // A window line with five numbers, on line 7.
  std::string error = error_for("# 0\n" + image + "\n3\n16\n16\n1\n1 0.9 0 0 5\n");
  EXPECT_NE(error.find("windows.txt:7"), std::string::npos) << error;
  EXPECT_NE(error.find("class_index overlap x1 y1 x2 y2"), std::string::npos) << error;
  // No '#' header.
  error = error_for(image + "\n");
  EXPECT_NE(error.find("windows.txt:1"), std::string::npos) << error;
  // A height that is not a number, on line 4.
  error = error_for("# 0\n" + image + "\n3\nsixteen\n16\n0\n");
  EXPECT_NE(error.find("windows.txt:4"), std::string::npos) << error;
  EXPECT_NE(error.find("height"), std::string::npos) << error;
  // Fewer window lines than announced.
  error = error_for("# 0\n" + image + "\n3\n16\n16\n2\n1 0.9 0 0 5 5\n");
  EXPECT_NE(error.find("ends where a window line was expected"), std::string::npos) << error;
  // A box outside the image, on line 7.
  error = error_for("# 0\n" + image + "\n3\n16\n16\n1\n1 0.9 0 0 16 5\n");
  EXPECT_NE(error.find("windows.txt:7"), std::string::npos) << error;
  // A missing image names the image and its block's line, at set-up.
  error = error_for("# 0\n" + image + "\n3\n16\n16\n0\n# 1\n" + dir.File("nope.png") +
                    "\n3\n16\n16\n2\n1 0.9 0 0 5 5\n0 0.1 0 0 5 5\n");
  EXPECT_NE(error.find("nope.png"), std::string::npos) << error;
  EXPECT_NE(error.find("windows.txt:7"), std::string::npos) << error;
}

TEST(WindowDataLayerTest, BadParametersNameTheField) {
  TempDir dir;
  WriteGradientImage(dir.File("g.png"));
  const std::string source = dir.File("windows.txt");
  {
    std::ofstream out(source);
    AppendImage(&out, 0, dir.File("g.png"), {{1, 0.9f, 0, 0, 5, 5}, {0, 0.1f, 0, 0, 5, 5}});
  }
  EXPECT_NE(SetUpError(LayerText(source, "batch_size: 2", "")).find("crop_size"),
            std::string::npos);
  EXPECT_NE(SetUpError(LayerText(source, "batch_size: 2 crop_mode: 'stretch'")).find("crop_mode"),
            std::string::npos);
  EXPECT_NE(SetUpError(LayerText(source, "batch_size: 2 context_pad: 2")).find("context_pad"),
            std::string::npos);
  EXPECT_NE(SetUpError(LayerText(source, "batch_size: 2 fg_fraction: 0.5 fg_threshold: 0.95")).find("foreground"),
            std::string::npos);
  EXPECT_NE(SetUpError(LayerText(source, "batch_size: 2", "crop_size: 4 mean_value: 1 "
                                 "mean_value: 2")).find("mean_value"),
            std::string::npos);
  EXPECT_EQ(SetUpError(LayerText(source, "batch_size: 2")), "no error");
}

}  // namespace
}  // namespace cortado
