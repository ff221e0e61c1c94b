// Known-value and error checks for the DetectionOutput layer (SSD decoding
// and per-class NMS; no backward pass).
#include <cmath>
#include <string>
#include <vector>

#include "cortado/math.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

using Rows = std::vector<std::vector<float>>;

// Priors as PriorBox writes them: boxes, then variances.
void SetPriors(Blob* prior, const Rows& boxes, std::vector<float> variance) {
  prior->Reshape({1, 2, static_cast<int>(boxes.size() * 4)});
  float* d = prior->mutable_cpu_data();
  for (size_t k = 0; k < boxes.size(); ++k) {
    for (int j = 0; j < 4; ++j) {
      d[k * 4 + j] = boxes[k][j];
      d[(boxes.size() + k) * 4 + j] = variance[j];
    }
  }
}

Rows RunDetection(const std::string& params, const Blob& loc, const Blob& conf, const Blob& prior) {
  Blob y;
  BlobVec bottom = {const_cast<Blob*>(&loc), const_cast<Blob*>(&conf), const_cast<Blob*>(&prior)};
  auto layer =
      MakeLayer("name: 'det' type: 'DetectionOutput' detection_output_param { " + params + " }");
  layer->SetUp(bottom, {&y});
  layer->Forward(bottom, {&y});
  EXPECT_EQ(y.num_axes(), 4);
  EXPECT_EQ(y.shape(3), 7);
  Rows rows;
  for (int r = 0; r < y.shape(2); ++r) {
    rows.emplace_back(y.cpu_data() + r * 7, y.cpu_data() + r * 7 + 7);
  }
  return rows;
}

void ExpectRowsNear(const Rows& expected, const Rows& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t r = 0; r < expected.size(); ++r) {
    for (int j = 0; j < 7; ++j) EXPECT_NEAR(expected[r][j], actual[r][j], 1e-5f) << r << "," << j;
  }
}

// Three priors: 0 and 1 overlap heavily (IoU 0.82), 2 stands apart.
// Classes: 0 background, 1 likes priors 0 and 1, 2 likes prior 2.
class DetectionOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetPriors(&prior_,
              {{0.1f, 0.1f, 0.3f, 0.3f}, {0.12f, 0.1f, 0.32f, 0.3f}, {0.6f, 0.6f, 0.9f, 0.9f}},
              {0.1f, 0.1f, 0.2f, 0.2f});
    loc_.Reshape({1, 12});  // zero offsets: decoded boxes are the priors
    Set(loc_.count(), 0.f, loc_.mutable_cpu_data());
    conf_.Reshape({1, 9});
    const std::vector<float> scores = {0.05f, 0.9f, 0.05f, 0.1f, 0.8f, 0.1f, 0.2f, 0.1f, 0.7f};
    std::copy(scores.begin(), scores.end(), conf_.mutable_cpu_data());
  }
  // Text format rejects a field given twice, so variations are arguments.
  static std::string Params(const std::string& nms = "nms_threshold: 0.45 top_k: 10",
                            float confidence = 0.15f, int background = 0) {
    return "num_classes: 3 code_type: CENTER_SIZE nms_param { " + nms +
           " } confidence_threshold: " + std::to_string(confidence) +
           " background_label_id: " + std::to_string(background) + " ";
  }
  Blob loc_, conf_, prior_;
};

TEST_F(DetectionOutputTest, NmsDropsTheOverlappingBoxPerClass) {
  ExpectRowsNear({{0, 1, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f}, {0, 2, 0.7f, 0.6f, 0.6f, 0.9f, 0.9f}},
                 RunDetection(Params(), loc_, conf_, prior_));
}

TEST_F(DetectionOutputTest, LooseNmsKeepsBothInScoreOrder) {
  ExpectRowsNear({{0, 1, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f},
                  {0, 1, 0.8f, 0.12f, 0.1f, 0.32f, 0.3f},
                  {0, 2, 0.7f, 0.6f, 0.6f, 0.9f, 0.9f}},
                 RunDetection(Params("nms_threshold: 0.9"), loc_, conf_, prior_));
}

TEST_F(DetectionOutputTest, KeepTopKAndNmsTopK) {
  ExpectRowsNear({{0, 1, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f}},
                 RunDetection(Params() + "keep_top_k: 1", loc_, conf_, prior_));
  // nms top_k 1 keeps only each class's best candidate before NMS.
  ExpectRowsNear({{0, 1, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f}, {0, 2, 0.7f, 0.6f, 0.6f, 0.9f, 0.9f}},
                 RunDetection(Params("nms_threshold: 0.9 top_k: 1"), loc_, conf_, prior_));
}

TEST_F(DetectionOutputTest, NothingKeptGivesOneRowOfMinusOne) {
  ExpectRowsNear({{-1, -1, -1, -1, -1, -1, -1}},
                 RunDetection(Params("nms_threshold: 0.45", 0.95f), loc_, conf_, prior_));
}

TEST_F(DetectionOutputTest, BackgroundLabelIsSkipped) {
  // With class 2 as background, class 0 (0.2 on prior 2) now counts.
  ExpectRowsNear({{0, 0, 0.2f, 0.6f, 0.6f, 0.9f, 0.9f}, {0, 1, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f}},
                 RunDetection(Params("nms_threshold: 0.45", 0.15f, 2), loc_, conf_, prior_));
}

TEST_F(DetectionOutputTest, BatchRowsCarryTheImageId) {
  Blob loc({2, 12}), conf({2, 9});
  Set(loc.count(), 0.f, loc.mutable_cpu_data());
  for (int n = 0; n < 2; ++n) {
    std::copy(conf_.cpu_data(), conf_.cpu_data() + 9, conf.mutable_cpu_data() + n * 9);
  }
  conf.mutable_cpu_data()[9 + 8] = 0.1f;  // image 1 loses its class-2 box
  ExpectRowsNear({{0, 1, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f},
                  {0, 2, 0.7f, 0.6f, 0.6f, 0.9f, 0.9f},
                  {1, 1, 0.9f, 0.1f, 0.1f, 0.3f, 0.3f}},
                 RunDetection(Params(), loc, conf, prior_));
}

// One prior [0.2, 0.2, 0.4, 0.6], one foreground class scoring 1.
Rows DecodeOne(const std::string& params, std::vector<float> offsets) {
  Blob prior, loc({1, 4}), conf({1, 2});
  SetPriors(&prior, {{0.2f, 0.2f, 0.4f, 0.6f}}, {0.1f, 0.1f, 0.2f, 0.2f});
  std::copy(offsets.begin(), offsets.end(), loc.mutable_cpu_data());
  conf.mutable_cpu_data()[0] = 0;
  conf.mutable_cpu_data()[1] = 1;
  return RunDetection("num_classes: 2 " + params, loc, conf, prior);
}

TEST(DetectionOutputDecodeTest, CenterSizeWithVariances) {
  const float w = std::exp(0.2f * 0.5f) * 0.2f, h = 0.4f;
  const float cx = 0.3f + 0.1f * 1 * 0.2f, cy = 0.4f + 0.1f * -1 * 0.4f;
  ExpectRowsNear({{0, 1, 1, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2}},
                 DecodeOne("code_type: CENTER_SIZE", {1, -1, 0.5f, 0}));
}

TEST(DetectionOutputDecodeTest, CenterSizeVarianceEncodedInTarget) {
  const float w = std::exp(0.5f) * 0.2f, h = 0.4f;
  const float cx = 0.3f + 1 * 0.2f, cy = 0.4f - 1 * 0.4f;
  ExpectRowsNear(
      {{0, 1, 1, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2}},
      DecodeOne("code_type: CENTER_SIZE variance_encoded_in_target: true", {1, -1, 0.5f, 0}));
}

TEST(DetectionOutputDecodeTest, CornerIsTheDefault) {
  ExpectRowsNear({{0, 1, 1, 0.3f, 0.1f, 0.5f, 0.6f}}, DecodeOne("", {1, -1, 0.5f, 0}));
}

TEST(DetectionOutputDecodeTest, PerClassLocations) {
  // share_location false: loc holds one box per class; class 1 reads the second.
  Blob prior, loc({1, 8}), conf({1, 2});
  SetPriors(&prior, {{0.2f, 0.2f, 0.4f, 0.6f}}, {1, 1, 1, 1});
  const std::vector<float> offsets = {9, 9, 9, 9, 0.1f, 0, 0, -0.1f};
  conf.mutable_cpu_data()[0] = 0;
  std::copy(offsets.begin(), offsets.end(), loc.mutable_cpu_data());
  conf.mutable_cpu_data()[1] = 1;
  ExpectRowsNear({{0, 1, 1, 0.3f, 0.2f, 0.4f, 0.5f}},
                 RunDetection("num_classes: 2 share_location: false", loc, conf, prior));
}

TEST(DetectionOutputDecodeTest, SsdDeployParametersParse) {
  // What SSD's deploy.prototxt writes, save_output_param included.
  EXPECT_NO_THROW(MakeLayer(
      "name: 'detection_out' type: 'DetectionOutput' bottom: 'mbox_loc' "
      "bottom: 'mbox_conf_flatten' bottom: 'mbox_priorbox' top: 'detection_out' "
      "include { phase: TEST } detection_output_param { num_classes: 21 share_location: true "
      "background_label_id: 0 nms_param { nms_threshold: 0.45 top_k: 400 } "
      "save_output_param { label_map_file: 'data/VOC0712/labelmap_voc.prototxt' } "
      "code_type: CENTER_SIZE keep_top_k: 200 confidence_threshold: 0.01 }"));
}

TEST(DetectionOutputDecodeTest, BadBottomsAndParametersThrow) {
  Blob prior, loc({1, 4}), conf({1, 2}), y;
  SetPriors(&prior, {{0.2f, 0.2f, 0.4f, 0.6f}}, {1, 1, 1, 1});
  auto no_classes = MakeLayer("name: 'd' type: 'DetectionOutput'");
  EXPECT_THROW(no_classes->SetUp({&loc, &conf, &prior}, {&y}), Error);
  auto wrong_conf =
      MakeLayer("name: 'd' type: 'DetectionOutput' detection_output_param { num_classes: 3 }");
  EXPECT_THROW(wrong_conf->SetUp({&loc, &conf, &prior}, {&y}), Error);
  Blob bad_prior({1, 1, 4});
  auto wrong_prior =
      MakeLayer("name: 'd' type: 'DetectionOutput' detection_output_param { num_classes: 2 }");
  EXPECT_THROW(wrong_prior->SetUp({&loc, &conf, &bad_prior}, {&y}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
