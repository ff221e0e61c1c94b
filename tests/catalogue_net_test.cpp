// BVLC catalogue layers inside a Net: in-place PReLU, Slice, Parameter and
// the new losses wired through the net's blobs, loss weights and backward
// pass, checked against finite differences of the net's own loss.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/net.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace {

caffe::NetParameter ParseNet(const std::string& text) {
  caffe::NetParameter param;
  ReadProtoFromTextString(text, "catalogue net", &param);
  return param;
}

// x -> PReLU (in place) -> Slice -> InnerProduct -> ELU (in place) ->
// EuclideanLoss against t, plus a Parameter added to the kept slice and a
// weighted SigmoidCrossEntropyLoss on it.
const char kCatalogueNet[] = R"(
  name: "catalogue"
  force_backward: true
  layer { name: "in" type: "Input" top: "x" top: "t" top: "p"
          input_param { shape { dim: 4 dim: 3 dim: 2 dim: 2 } shape { dim: 4 dim: 6 }
                        shape { dim: 4 dim: 1 dim: 2 dim: 2 } } }
  layer { name: "prelu" type: "PReLU" bottom: "x" top: "x"
          prelu_param { filler { type: "uniform" min: 0.1 max: 0.5 } } }
  layer { name: "slice" type: "Slice" bottom: "x" top: "x1" top: "x2"
          slice_param { slice_point: 1 } }
  layer { name: "ip" type: "InnerProduct" bottom: "x2" top: "y"
          inner_product_param { num_output: 6 weight_filler { type: "gaussian" std: 0.3 } } }
  layer { name: "elu" type: "ELU" bottom: "y" top: "y" }
  layer { name: "euclid" type: "EuclideanLoss" bottom: "y" bottom: "t" top: "l1" }
  layer { name: "offset" type: "Parameter" top: "b"
          parameter_param { shape { dim: 4 dim: 1 dim: 2 dim: 2 } } }
  layer { name: "sum" type: "Eltwise" bottom: "x1" bottom: "b" top: "s" }
  layer { name: "sce" type: "SigmoidCrossEntropyLoss" bottom: "s" bottom: "p" top: "l2"
          loss_weight: 0.5 }
)";

void FillInputs(Net* net) {
  testing::FillGaussian(net->blob_by_name("x"), 0, 1, 91);
  testing::FillGaussian(net->blob_by_name("t"), 0, 1, 92);
  testing::FillUniform(net->blob_by_name("p"), 0, 1, 93);
}

// The net's total loss after refilling the inputs (in-place layers
// overwrite x, so every forward starts from the same inputs).
float NetLoss(Net* net) {
  FillInputs(net);
  float loss = 0;
  net->Forward(&loss);
  return loss;
}

TEST(CatalogueNetTest, ParameterGradientsMatchFiniteDifferences) {
  Net net(ParseNet(kCatalogueNet));
  testing::FillGaussian(net.layer_by_name("offset")->blobs()[0].get(), 0, 1, 94);
  FillInputs(&net);
  net.ClearParamDiffs();
  float loss = 0;
  net.Forward(&loss);
  net.Backward();
  EXPECT_GT(loss, 0.f);
  for (const char* name : {"prelu", "ip", "offset"}) {
    Blob* param = net.layer_by_name(name)->blobs()[0].get();
    const std::vector<float> analytic(param->cpu_diff(), param->cpu_diff() + param->count());
    for (int64_t j = 0; j < std::min<int64_t>(param->count(), 6); ++j) {
      const float original = param->cpu_data()[j];
      const float step = 1e-2f;
      param->mutable_cpu_data()[j] = original + step;
      const double plus = NetLoss(&net);
      param->mutable_cpu_data()[j] = original - step;
      const double minus = NetLoss(&net);
      param->mutable_cpu_data()[j] = original;
      const double numeric = (plus - minus) / (2 * step);
      EXPECT_NEAR(numeric, analytic[j], 1e-2 * std::max(1.0, std::fabs(numeric)))
          << name << " element " << j;
    }
    float magnitude = 0;
    for (float g : analytic) magnitude += std::fabs(g);
    EXPECT_GT(magnitude, 0.f) << name << " got no gradient";
  }
}

TEST(CatalogueNetTest, GradientDescentLowersTheLoss) {
  Net net(ParseNet(kCatalogueNet));
  const float initial = NetLoss(&net);
  for (int step = 0; step < 60; ++step) {
    net.ClearParamDiffs();
    NetLoss(&net);
    net.Backward();
    for (Blob* param : net.learnable_params()) param->scale_diff(0.1f);
    net.Update();
  }
  const float final_loss = NetLoss(&net);
  EXPECT_LT(final_loss, 0.7f * initial) << "initial " << initial;
}

}  // namespace
}  // namespace cortado
