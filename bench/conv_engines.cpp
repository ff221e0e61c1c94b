// Times the CPU convolution engines (im2col + BLAS, the depthwise kernels,
// oneDNN) on every Convolution and Deconvolution layer of the nets given on
// the command line (bench/deconv_layers.prototxt has deconvolutions),
// forward and backward, and prints one table row per layer. The numbers
// behind DnnlConvolutionIsFaster (src/layers/dnnl_convolution.cpp).
//
//   build/conv_engines ../shared/conformance/bench/resnet50_deploy.prototxt ...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/blob.hpp"
#include "cortado/filler.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/net.hpp"

namespace cortado {
namespace {

struct Timing {
  double forward_ms = 0;
  double backward_ms = 0;
};

// Median of `reps` runs after one warm-up run (which builds primitives and
// reorders weights).
template <typename Fn>
double MedianMs(int reps, Fn fn) {
  fn();
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                          start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Builds the layer with CORTADO_CONV_ENGINE=`engine` and times it.
Timing TimeEngine(caffe::LayerParameter param, const std::vector<int>& shape,
                  const char* engine, int reps) {
  setenv("CORTADO_CONV_ENGINE", engine, 1);
  param.clear_bottom();
  param.clear_top();
  param.add_bottom("in");
  param.add_top("out");
  Blob bottom(shape), top;
  caffe::FillerParameter gaussian;
  gaussian.set_type("gaussian");
  FillBlob(gaussian, &bottom);
  std::unique_ptr<Layer> layer = LayerRegistry::Create(param);
  const BlobVec bottoms{&bottom}, tops{&top};
  layer->SetUp(bottoms, tops);
  Timing t;
  t.forward_ms = MedianMs(reps, [&] { layer->Forward(bottoms, tops); });
  FillBlob(gaussian, &top);
  std::copy_n(top.cpu_data(), top.count(), top.mutable_cpu_diff());
  t.backward_ms = MedianMs(reps, [&] { layer->Backward(tops, {true}, bottoms); });
  return t;
}

void BenchNet(const std::string& path, int reps, Timing* caffe_total, Timing* dnnl_total) {
  Net net(path, caffe::TEST);
  std::printf("\n%s\n%-28s %-18s %-16s %9s %9s %9s %9s\n", path.c_str(), "layer", "bottom",
              "kernel/str/grp", "fwd_ref", "fwd_dnnl", "bwd_ref", "bwd_dnnl");
  for (size_t i = 0; i < net.layers().size(); ++i) {
    const caffe::LayerParameter& param = net.layers()[i]->layer_param();
    if (param.type() != "Convolution" && param.type() != "Deconvolution") continue;
    const std::vector<int> shape = net.bottom_vecs()[i][0]->shape();
    const caffe::ConvolutionParameter& p = param.convolution_param();
    // The reference is what DEFAULT runs without oneDNN: the depthwise
    // kernels where they apply, else im2col + BLAS.
    const Timing ref = TimeEngine(param, shape, "caffe", reps);
    const Timing dnnl = TimeEngine(param, shape, "dnnl", reps);
    caffe_total->forward_ms += ref.forward_ms;
    caffe_total->backward_ms += ref.backward_ms;
    dnnl_total->forward_ms += dnnl.forward_ms;
    dnnl_total->backward_ms += dnnl.backward_ms;
    const std::string bottom = std::to_string(shape[0]) + "x" + std::to_string(shape[1]) + "x" +
                               std::to_string(shape[2]) + "x" + std::to_string(shape[3]);
    const int kernel = p.kernel_size_size() ? p.kernel_size(0) : p.kernel_h();
    const int stride = p.stride_size() ? p.stride(0) : (p.has_stride_h() ? p.stride_h() : 1);
    const std::string window = std::to_string(kernel) + "/" + std::to_string(stride) + "/" +
                               std::to_string(p.group()) + " o" + std::to_string(p.num_output());
    std::printf("%-28s %-18s %-16s %9.3f %9.3f %9.3f %9.3f\n", param.name().c_str(),
                bottom.c_str(), window.c_str(), ref.forward_ms, dnnl.forward_ms,
                ref.backward_ms, dnnl.backward_ms);
  }
}

}  // namespace
}  // namespace cortado

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s NET.prototxt... (env CONV_BENCH_REPS, default 5)\n", argv[0]);
    return 2;
  }
  const char* reps_env = std::getenv("CONV_BENCH_REPS");
  const int reps = reps_env ? std::atoi(reps_env) : 5;
  cortado::Timing ref, dnnl;
  for (int i = 1; i < argc; ++i) cortado::BenchNet(argv[i], reps, &ref, &dnnl);
  std::printf("\ntotal ms: forward ref %.1f dnnl %.1f; backward ref %.1f dnnl %.1f\n",
              ref.forward_ms, dnnl.forward_ms, ref.backward_ms, dnnl.backward_ms);
  return 0;
}
