// classification: classifies images with a trained net and prints each one's
// top 5 classes as `score label` lines, a small program over Cortado's C++ API.
// Usage: classification DEPLOY.prototxt WEIGHTS.caffemodel IMAGE [IMAGE...]
//        [--labels=FILE] [--mean=B,G,R] [--scale=S] [--raw_scale=R] [--rgb] [--grey]
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cortado/common.hpp"
#include "cortado/io.hpp"
#include "cortado/net.hpp"

DEFINE_string(labels, "", "class names, one per line (default: print class indices)");
DEFINE_string(mean, "", "per-channel mean in the net's channel order, in raw_scale units; "
              "one value applies to every channel (default: none)");
DEFINE_double(scale, 1.0, "multiplies the pixels after the mean is subtracted");
DEFINE_double(raw_scale, 255.0, "the pixel range the mean is in: pixels are read as 0..1 "
              "and multiplied by this");
DEFINE_bool(rgb, false, "the net wants RGB input (default: BGR, Caffe's and OpenCV's order)");
DEFINE_bool(grey, false, "read images as grey (the default when the net's input has 1 channel)");

namespace cortado {
namespace {

constexpr int kTopK = 5;

std::vector<float> ParseMean(const std::string& text, int channels) {
  std::vector<float> mean;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      size_t used = 0;
      mean.push_back(std::stof(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      ThrowError("--mean=", text, ": '", part, "' is not a number");
    }
  }
  if (mean.size() == 1) mean.resize(channels, mean[0]);
  if (static_cast<int>(mean.size()) != channels) {
    ThrowError("--mean=", text, " has ", mean.size(), " values; the net's input has ", channels,
               " channels");
  }
  return mean;
}

std::vector<std::string> ReadLabels(const std::string& path) {
  std::ifstream in(path);
  if (!in) ThrowError(path, ": cannot open the labels file");
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty()) labels.push_back(line);
  }
  return labels;
}

// Writes the image at path into `input` (1 x C x H x W): resized to H x W,
// pixels in 0..raw_scale, mean subtracted, then scaled.
void LoadImage(const std::string& path, const std::vector<float>& mean, Blob* input) {
  const int channels = input->channels();
  const int height = input->height();
  const int width = input->width();
  // Checked here because OpenCV would also log its own warning about a missing file.
  if (!FileExists(path)) ThrowError(path, ": no such file");
  cv::Mat image = cv::imread(path, channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
  if (image.empty()) ThrowError(path, ": not an image OpenCV can decode");
  if (FLAGS_rgb && channels == 3) cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  // Float before resizing, as pycaffe does, so both programs see the same pixels.
  cv::Mat pixels;
  image.convertTo(pixels, CV_32F, FLAGS_raw_scale / 255.0);
  if (pixels.rows != height || pixels.cols != width) {
    cv::resize(pixels, pixels, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  }
  float* data = input->mutable_cpu_data();
  for (int y = 0; y < height; ++y) {
    const float* row = pixels.ptr<float>(y);
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        const float value = row[x * channels + c] - (mean.empty() ? 0.f : mean[c]);
        data[(c * height + y) * width + x] = value * static_cast<float>(FLAGS_scale);
      }
    }
  }
}

int Classify(const std::vector<std::string>& args) {
  Net net(args[0], caffe::TEST);
  net.CopyTrainedLayersFrom(args[1]);
  if (net.input_blobs().size() != 1 || net.output_blobs().empty()) {
    ThrowError(args[0], ": a classifier needs one input and an output; this net has ",
               net.input_blobs().size(), " inputs and ", net.output_blobs().size(), " outputs");
  }
  Blob* input = net.input_blobs()[0];
  const int channels = input->channels();
  if (channels != 1 && channels != 3) {
    ThrowError(args[0], ": the input has ", channels, " channels; images have 1 or 3");
  }
  if (FLAGS_grey && channels != 1) {
    ThrowError("--grey, but the net's input has ", channels, " channels");
  }
  input->Reshape({1, channels, input->height(), input->width()});
  net.Reshape();
  const std::vector<float> mean = FLAGS_mean.empty() ? std::vector<float>()
                                                     : ParseMean(FLAGS_mean, channels);
  const std::vector<std::string> labels =
      FLAGS_labels.empty() ? std::vector<std::string>() : ReadLabels(FLAGS_labels);

  for (size_t i = 2; i < args.size(); ++i) {
    LoadImage(args[i], mean, input);
    const Blob* output = net.Forward()[0];
    const int classes = static_cast<int>(output->count());
    if (!labels.empty() && static_cast<int>(labels.size()) != classes) {
      ThrowError(FLAGS_labels, " has ", labels.size(), " labels; the net's output '",
                 net.blob_names()[net.output_blob_indices()[0]], "' has ", classes, " classes");
    }
    const float* scores = output->cpu_data();
    std::vector<int> order(classes);
    std::iota(order.begin(), order.end(), 0);
    const int top = std::min(kTopK, classes);
    // Ties keep the lower class first, as a stable sort would.
    std::partial_sort(order.begin(), order.begin() + top, order.end(), [scores](int a, int b) {
      return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    });
    std::printf("%s\n", args[i].c_str());
    for (int k = 0; k < top; ++k) {
      const int c = order[k];
      const std::string label = labels.empty() ? std::to_string(c) : labels[c];
      std::printf("%.4f %s\n", scores[c], label.c_str());
    }
  }
  return 0;
}

}  // namespace
}  // namespace cortado

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = 1;  // the net's set-up log would bury the answer; --minloglevel=0 shows it
  gflags::SetUsageMessage(
      "prints the top 5 classes of each image as `score label` lines\n"
      "usage: classification DEPLOY.prototxt WEIGHTS.caffemodel IMAGE [IMAGE...] "
      "[--labels=FILE] [--mean=B,G,R] [--scale=S] [--raw_scale=R] [--rgb] [--grey]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  if (argc < 4) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "examples/cpp_classification");
    return 1;
  }
  try {
    return cortado::Classify(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {  // cortado::Error, and OpenCV's cv::Exception
    std::fprintf(stderr, "classification: error: %s\n", e.what());
    return 1;
  }
}
