// Table rows and error checks for the Accuracy layer.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

constexpr int kNoIgnore = -1000;

// Naive reference: rank the classes by score (ties placed ahead of the true
// class), and count the prediction correct when the true class is in the
// first top_k. Fills overall and per-class accuracy.
void NaiveAccuracy(const Blob& scores, const Blob& labels, int axis, int top_k, int ignore,
                   float* accuracy, std::vector<float>* per_class) {
  const int64_t outer = scores.count(0, axis);
  const int classes = scores.shape(axis);
  const int64_t inner = scores.count(axis + 1);
  std::vector<int> correct(classes, 0), total(classes, 0);
  int all_correct = 0, all_total = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int label = static_cast<int>(labels.cpu_data()[o * inner + i]);
      if (label == ignore) continue;
      std::vector<std::pair<float, int>> ranked;
      for (int c = 0; c < classes; ++c) {
        ranked.emplace_back(scores.cpu_data()[(o * classes + c) * inner + i], c);
      }
      std::sort(ranked.begin(), ranked.end(), [label](const auto& a, const auto& b) {
        if (a.first != b.first) return a.first > b.first;
        return (a.second != label) && (b.second == label);
      });
      int position = 0;
      while (ranked[position].second != label) ++position;
      ++total[label];
      ++all_total;
      if (position < top_k) {
        ++correct[label];
        ++all_correct;
      }
    }
  }
  *accuracy = all_total ? float(all_correct) / all_total : 0.f;
  per_class->resize(classes);
  for (int c = 0; c < classes; ++c) {
    (*per_class)[c] = total[c] ? float(correct[c]) / total[c] : 0.f;
  }
}

std::function<void(Layer*, const BlobVec&, const BlobVec&)> AccuracyReference(int axis,
                                                                              int top_k,
                                                                              int ignore) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    float accuracy = 0;
    std::vector<float> per_class;
    NaiveAccuracy(*bottom[0], *bottom[1], axis, top_k, ignore, &accuracy, &per_class);
    ASSERT_EQ(top[0]->count(), 1);
    EXPECT_NEAR(accuracy, top[0]->cpu_data()[0], 1e-6f);
    if (top.size() > 1) ExpectBlobNear(per_class, *top[1], 1e-6f);
  };
}

// Scores rounded to a coarse grid so that ties occur.
std::function<void(const BlobVec&)> CoarseScores(int classes, int ignore = kNoIgnore) {
  return [=](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 1, 51);
    float* x = bottom[0]->mutable_cpu_data();
    for (int64_t i = 0; i < bottom[0]->count(); ++i) x[i] = std::round(x[i] * 2) / 2;
    FillLabels(bottom[1], classes, 52);
    if (ignore != kNoIgnore) {
      float* label = bottom[1]->mutable_cpu_data();
      for (int64_t i = 0; i < bottom[1]->count(); i += 4) label[i] = float(ignore);
    }
  };
}

LayerCase AccuracyCase(const std::string& name, const std::string& params,
                       std::vector<std::vector<int>> shapes, int axis, int classes,
                       int top_k, int ignore) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'acc' type: 'Accuracy' " + params;
  c.bottom_shapes = std::move(shapes);
  c.fill = CoarseScores(classes, ignore);
  c.reference = AccuracyReference(axis, top_k, ignore);
  c.check_gradient = false;  // no backward
  c.phase = caffe::TEST;
  return c;
}

std::vector<LayerCase> AccuracyCases() {
  std::vector<LayerCase> cases;
  cases.push_back(AccuracyCase("Top1", "", {{40, 5}, {40}}, 1, 5, 1, kNoIgnore));
  cases.push_back(AccuracyCase("Top2", "accuracy_param { top_k: 2 }", {{40, 5}, {40}}, 1, 5,
                               2, kNoIgnore));
  cases.push_back(AccuracyCase("Top4", "accuracy_param { top_k: 4 }", {{40, 5}, {40, 1}}, 1,
                               5, 4, kNoIgnore));
  cases.push_back(AccuracyCase("IgnoreLabel", "accuracy_param { ignore_label: 3 }",
                               {{40, 5}, {40}}, 1, 5, 1, 3));
  cases.push_back(AccuracyCase("Spatial", "accuracy_param { top_k: 2 }",
                               {{3, 4, 5, 2}, {3, 5, 2}}, 1, 4, 2, kNoIgnore));
  cases.push_back(AccuracyCase("LastAxis", "accuracy_param { axis: -1 }",
                               {{5, 6, 3}, {5, 6}}, 2, 3, 1, kNoIgnore));
  cases.push_back(AccuracyCase("PerClass", "top: 'acc' top: 'per_class'", {{40, 5}, {40}}, 1,
                               5, 1, kNoIgnore));
  cases.push_back(AccuracyCase("PerClassIgnore",
                               "top: 'acc' top: 'per_class' "
                               "accuracy_param { ignore_label: 0 top_k: 2 }",
                               {{40, 5}, {40}}, 1, 5, 2, 0));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Accuracy, LayerCaseTest, ::testing::ValuesIn(AccuracyCases()),
                         LayerCaseName);

TEST(AccuracyLayerTest, TiesCountAgainstTheTrueClass) {
  Blob scores({2, 3});
  Blob labels({2});
  Blob accuracy;
  std::fill_n(scores.mutable_cpu_data(), 6, 0.5f);
  labels.mutable_cpu_data()[0] = 0;
  labels.mutable_cpu_data()[1] = 2;
  auto layer = MakeLayer("name: 'acc' type: 'Accuracy'", caffe::TEST);
  layer->SetUp({&scores, &labels}, {&accuracy});
  layer->Forward({&scores, &labels}, {&accuracy});
  EXPECT_EQ(0.f, accuracy.cpu_data()[0]);
  auto top3 = MakeLayer("name: 'acc' type: 'Accuracy' accuracy_param { top_k: 3 }",
                        caffe::TEST);
  top3->SetUp({&scores, &labels}, {&accuracy});
  top3->Forward({&scores, &labels}, {&accuracy});
  EXPECT_EQ(1.f, accuracy.cpu_data()[0]);
}

TEST(AccuracyLayerTest, LabelOutOfRangeThrows) {
  Blob scores({2, 3});
  Blob labels({2});
  Blob accuracy;
  FillGaussian(&scores, 0, 1, 1);
  labels.mutable_cpu_data()[0] = 1;
  labels.mutable_cpu_data()[1] = 3;
  auto layer = MakeLayer("name: 'acc' type: 'Accuracy'", caffe::TEST);
  layer->SetUp({&scores, &labels}, {&accuracy});
  try {
    layer->Forward({&scores, &labels}, {&accuracy});
    FAIL() << "expected an Error for label 3";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'acc'"), std::string::npos) << what;
    EXPECT_NE(what.find("3 classes"), std::string::npos) << what;
  }
}

TEST(AccuracyLayerTest, TopKAboveClassCountThrows) {
  Blob scores({2, 3});
  Blob labels({2});
  Blob accuracy;
  auto layer = MakeLayer("name: 'acc' type: 'Accuracy' accuracy_param { top_k: 4 }");
  EXPECT_THROW(layer->SetUp({&scores, &labels}, {&accuracy}), Error);
}

TEST(AccuracyLayerTest, AxisOutOfRangeNamesLayer) {
  Blob scores({2, 3});
  Blob labels({2});
  Blob accuracy;
  auto layer = MakeLayer("name: 'acc' type: 'Accuracy' accuracy_param { axis: 2 }");
  try {
    layer->SetUp({&scores, &labels}, {&accuracy});
    FAIL() << "expected an Error for axis 2";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'acc'"), std::string::npos) << e.what();
  }
}

TEST(AccuracyLayerTest, BackwardIsRefused) {
  Blob scores({2, 3});
  Blob labels({2});
  Blob accuracy;
  auto layer = MakeLayer("name: 'acc' type: 'Accuracy'");
  EXPECT_FALSE(layer->AllowForceBackward(0));
  layer->SetUp({&scores, &labels}, {&accuracy});
  EXPECT_THROW(layer->Backward({&accuracy}, {true, false}, {&scores, &labels}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
