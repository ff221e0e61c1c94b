// Small nets and data sets shared by the solver tests: a 4x3 -> 2 softmax
// regression with fixed inputs and a hand-derived gradient, and a tiny LMDB.
#ifndef CORTADO_TESTS_SOLVER_FIXTURES_HPP_
#define CORTADO_TESTS_SOLVER_FIXTURES_HPP_

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cortado/db.hpp"
#include "cortado/io.hpp"
#include "cortado/solver.hpp"

namespace cortado {
namespace testing {

// x (4x3) -> InnerProduct(2) -> SoftmaxWithLoss, inputs fixed by the test.
inline const char kTinyNet[] = R"(
  name: "tiny"
  layer { name: "in" type: "Input" top: "x" top: "label"
          input_param { shape { dim: 4 dim: 3 } shape { dim: 4 } } }
  layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y"
          param { lr_mult: 1 } param { lr_mult: 2 decay_mult: 0 }
          inner_product_param { num_output: 2
            weight_filler { type: "gaussian" std: 0.3 }
            bias_filler { type: "constant" value: 0.1 } } }
  layer { name: "loss" type: "SoftmaxWithLoss" bottom: "y" bottom: "label" top: "loss" }
)";

inline caffe::SolverParameter TinySolver(const std::string& extra) {
  caffe::SolverParameter param;
  ReadProtoFromTextString(extra, "test solver", &param);
  ReadProtoFromTextString(kTinyNet, "tiny net", param.mutable_net_param());
  if (!param.has_random_seed()) param.set_random_seed(5);
  return param;
}

inline const float kX[4][3] = {{0.5f, -1.f, 2.f}, {1.5f, 0.2f, -0.3f}, {-0.7f, 0.9f, 0.1f},
                        {0.f, 1.f, 1.f}};
inline const int kLabel[4] = {0, 1, 1, 0};

inline void SetInputs(Net* net) {
  float* x = net->blob_by_name("x")->mutable_cpu_data();
  std::memcpy(x, kX, sizeof(kX));
  float* label = net->blob_by_name("label")->mutable_cpu_data();
  for (int i = 0; i < 4; ++i) label[i] = float(kLabel[i]);
}

// Gradient of the mean softmax loss w.r.t. W (2x3) and b (2), by hand.
inline void ClosedFormGradient(const std::vector<double>& w, const std::vector<double>& b,
                        std::vector<double>* gw, std::vector<double>* gb) {
  gw->assign(6, 0);
  gb->assign(2, 0);
  for (int n = 0; n < 4; ++n) {
    double z[2];
    for (int k = 0; k < 2; ++k) {
      z[k] = b[k];
      for (int j = 0; j < 3; ++j) z[k] += w[k * 3 + j] * kX[n][j];
    }
    const double m = std::max(z[0], z[1]);
    const double e0 = std::exp(z[0] - m), e1 = std::exp(z[1] - m);
    const double p[2] = {e0 / (e0 + e1), e1 / (e0 + e1)};
    for (int k = 0; k < 2; ++k) {
      const double d = (p[k] - (kLabel[n] == k ? 1.0 : 0.0)) / 4.0;
      (*gb)[k] += d;
      for (int j = 0; j < 3; ++j) (*gw)[k * 3 + j] += d * kX[n][j];
    }
  }
}

// A little LMDB of 10 random 1x4x4 "images" with labels 0..2.
inline void MakeDataset(const std::string& path) {
  auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kNew);
  auto txn = db->NewTransaction();
  std::mt19937 rng(3);
  for (int i = 0; i < 10; ++i) {
    caffe::Datum datum;
    datum.set_channels(1);
    datum.set_height(4);
    datum.set_width(4);
    std::string pixels(16, '\0');
    for (char& p : pixels) p = static_cast<char>(rng() % 256);
    datum.set_data(pixels);
    datum.set_label(i % 3);
    char key[16];
    std::snprintf(key, sizeof(key), "%08d", i);
    txn->Put(key, datum.SerializeAsString());
  }
  txn->Commit();
}

inline caffe::SolverParameter LmdbSolver(const std::string& source, const std::string& prefix) {
  caffe::SolverParameter param;
  ReadProtoFromTextString(
      "base_lr: 0.05 momentum: 0.9 weight_decay: 0.001 lr_policy: \"inv\" gamma: 0.01 "
      "power: 0.75 max_iter: 10 random_seed: 11 snapshot_after_train: false",
      "solver", &param);
  param.set_snapshot_prefix(prefix);
  ReadProtoFromTextString(R"(
    layer { name: "data" type: "Data" top: "data" top: "label"
            transform_param { scale: 0.00390625 }
            data_param { source: ")" + source + R"(" batch_size: 3 backend: LMDB } }
    layer { name: "ip1" type: "InnerProduct" bottom: "data" top: "ip1"
            inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }
    layer { name: "relu" type: "ReLU" bottom: "ip1" top: "ip1" }
    layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2"
            inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
  )", "net", param.mutable_net_param());
  return param;
}

inline std::vector<float> AllWeights(Net* net) {
  std::vector<float> out;
  for (const Blob* p : net->learnable_params()) {
    out.insert(out.end(), p->cpu_data(), p->cpu_data() + p->count());
  }
  return out;
}

}  // namespace testing
}  // namespace cortado

#endif  // CORTADO_TESTS_SOLVER_FIXTURES_HPP_
