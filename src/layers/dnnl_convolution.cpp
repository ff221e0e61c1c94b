// The oneDNN convolution engine: primitives per input shape, activations
// reordered between the blobs' NCHW and oneDNN's blocked layouts at the
// edges (1x1 convolutions read NCHW as it is), weights reordered once per
// change of the weight blob.
#include "dnnl_convolution.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <glog/logging.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "cortado/common.hpp"
#include "cortado/math.hpp"
#include "cortado/parallel.hpp"
#include "cortado/synced_memory.hpp"
#include "../util/dnnl_context.hpp"

namespace cortado {

CpuConvEngine CpuConvEngineFromEnvironment() {
  const char* value = std::getenv("CORTADO_CONV_ENGINE");
  if (value == nullptr || value[0] == '\0' || std::strcmp(value, "auto") == 0) {
    return CpuConvEngine::kAuto;
  }
  if (std::strcmp(value, "caffe") == 0) return CpuConvEngine::kCaffe;
  if (std::strcmp(value, "dnnl") == 0) return CpuConvEngine::kDnnl;
  ThrowError("CORTADO_CONV_ENGINE is '", value, "': expected caffe, dnnl or auto");
}

// bench/conv_engines.cpp on ResNet-50 b1, GoogLeNet b10, CaffeNet b10,
// SqueezeNet b10, MobileNet v2 b1 and LeNet b100 (2-core AVX-512): oneDNN
// runs forward 1.3-3x faster than im2col + OpenBLAS on nearly every layer
// (the 3x3 and 5x5 ones about 1.3-2x) and backward 1.1-2x faster on all
// but 1x1 layers, where the two are within 25 % either way. It loses where
// its blocked layouts pad the channels to a multiple of 16 and the padding
// is most of the work: LeNet's conv2 (20 -> 50 channels, padded to 32 -> 64,
// 2x the products) takes 3.0 ms forward and 6.6 backward against BLAS's 2.3
// and 4.7, and its conv1 (1 -> 20) 0.8 and 7.3 against 0.4 and 0.9. A layer
// whose padded product is at least 1.5x the real one stays on BLAS; the
// padding of every other layer of those nets is at most 1.33x (GoogLeNet's
// 24 -> 64 channel 5x5s, which oneDNN still runs 1.3x faster). Inputs of up
// to 4 channels (images) are read unblocked, so only their outputs count.
// On depthwise layers oneDNN ties with the direct kernels, which need no
// reorders and stay.
bool DnnlConvolutionIsFaster(int num, const ConvGeometry& g, int num_output, int group) {
  const bool depthwise = group > 1 && group == g.channels && num_output == g.channels;
  if (depthwise) return false;
  const int in = g.channels / group, out = num_output / group;
  if (in <= 0 || out <= 0) return true;
  auto padded = [](int channels) { return (channels + 15) / 16 * 16; };
  const double padding = double(in <= 4 ? in : padded(in)) * padded(out) / (double(in) * out);
  return padding < 1.5;
}

// bench/conv_engines.cpp, oneDNN direct against Winograd (forward /
// backward ms, 2-core AVX-512): ResNet-50 b1's 3x3s at 56x56 1.2 / 2.4
// against 0.7 / 1.35, at 28x28 1.2 / 2.5 against 0.7 / 1.5, at 14x14 a tie
// forward and up to 1.3x slower backward, at 7x7 2.5-3.5x slower. At batch
// 10 (GoogLeNet, SqueezeNet, CaffeNet) it wins at every size, 7x7 included
// (1.3x backward) and 2x at 56x56 and 28x28. The break-even lies between
// 196 and 490 output positions over the batch.
bool WinogradIsFaster(int num, const ConvGeometry& g, int group) {
  const bool window = g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 &&
                      g.stride_w == 1 && g.dilation_h == 1 && g.dilation_w == 1;
  if (!window || group != 1) return false;
  return int64_t(num) * g.output_h() * g.output_w() >= 400;
}

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr memory::data_type kF32 = memory::data_type::f32;

// Scratch for activations in oneDNN's blocked layout (and for weight
// gradients before they are added to the blobs), one set per thread and
// shared by every convolution on it: a copy lives only during one Forward or
// Backward call, so the net holds the largest layer's copies instead of
// every layer's (GoogLeNet b10 inference: 65 MiB less). Each slot is one
// copy that must not overlap another in the same call.
enum ScratchSlot { kSlotX, kSlotY, kSlotDy, kSlotDx, kSlotDw, kSlotDwPlain, kNumSlots };

void* ThreadScratch(ScratchSlot slot, size_t bytes) {
  struct Buffer {
    void* data = nullptr;
    size_t bytes = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffers[kNumSlots];
  Buffer& buffer = buffers[slot];
  if (buffer.bytes < bytes) {
    std::free(buffer.data);
    buffer.data = nullptr;
    // 64-byte aligned, as oneDNN's own allocations are; a multiple of it.
    const size_t rounded = (bytes + 63) / 64 * 64;
    if (posix_memalign(&buffer.data, 64, rounded) != 0) throw std::bad_alloc();
    buffer.bytes = rounded;
  }
  return buffer.data;
}

// An activation as the blob holds it (NCHW) and, when the primitive wants
// another layout, a copy in the thread's scratch with the reorders between
// them.
class Activation {
 public:
  Activation() = default;
  Activation(const memory::desc& plain, const memory::desc& wanted, ScratchSlot slot)
      : plain_(plain), reorders_(plain != wanted), slot_(slot) {
    if (!reorders_) return;
    inner_ = memory(wanted, CpuEngine(), DNNL_MEMORY_NONE);
    // Reorder primitives are built once per shape; the blob pointer is
    // bound at execution.
    memory plain_placeholder(plain_, CpuEngine(), DNNL_MEMORY_NONE);
    to_inner_ = dnnl::reorder(plain_placeholder, inner_);
    to_plain_ = dnnl::reorder(inner_, plain_placeholder);
  }

  // The memory a primitive reads: the blob itself, or its reordered copy.
  memory Read(const float* data) {
    memory user(plain_, CpuEngine(), const_cast<float*>(data));
    if (!reorders_) return user;
    BindScratch();
    to_inner_.execute(ThreadStream(), user, inner_);
    return inner_;
  }
  // The memory a primitive writes; call Written(data) after it ran.
  memory Write(float* data) {
    if (!reorders_) return memory(plain_, CpuEngine(), data);
    BindScratch();
    return inner_;
  }
  // Write(data) for a primitive that adds to what it writes (a sum
  // post-op): the memory starts as a copy of `initial`.
  memory WriteOnto(float* data, const float* initial) {
    if (!reorders_) {
      Copy(static_cast<int64_t>(plain_.get_size() / sizeof(float)), initial, data);
      return memory(plain_, CpuEngine(), data);
    }
    BindScratch();
    memory user(plain_, CpuEngine(), const_cast<float*>(initial));
    to_inner_.execute(ThreadStream(), user, inner_);
    return inner_;
  }
  void Written(float* data) {
    if (!reorders_) return;
    memory user(plain_, CpuEngine(), data);
    to_plain_.execute(ThreadStream(), inner_, user);
  }

 private:
  void BindScratch() {
    inner_.set_data_handle(ThreadScratch(slot_, inner_.get_desc().get_size()));
  }

  memory::desc plain_;
  bool reorders_ = false;
  ScratchSlot slot_ = kSlotX;
  memory inner_;
  dnnl::reorder to_inner_, to_plain_;
};

// The weights in a primitive's preferred layout, reordered again only when
// the weight blob's storage or version changes (a solver step, a load).
class ReorderedWeights {
 public:
  memory Get(const Blob& blob, const memory::desc& plain, const memory::desc& wanted) {
    const float* data = blob.cpu_data();
    memory user(plain, CpuEngine(), const_cast<float*>(data));
    if (plain == wanted) return user;
    const SyncedMemory* source = blob.data_memory().get();
    const uint64_t version = source->version();
    if (!inner_ || inner_.get_desc() != wanted) {
      inner_ = memory(wanted, CpuEngine());
      source_ = nullptr;
    }
    if (source != source_ || version != version_) {
      dnnl::reorder(user, inner_).execute(ThreadStream(), user, inner_);
      source_ = source;
      version_ = version;
    }
    return inner_;
  }

 private:
  memory inner_;
  const SyncedMemory* source_ = nullptr;
  uint64_t version_ = 0;
};

}  // namespace

struct DnnlConvolution::Primitives {
  int num_output;
  int group;
  bool bias_term;
  std::string log_prefix;

  bool has_shape = false;
  int num = 0;
  // convolution_winograd where WinogradIsFaster and this CPU has it, else
  // convolution_direct; the backward passes use the forward's.
  dnnl::algorithm algorithm = dnnl::algorithm::convolution_direct;
  bool winograd_missing_logged = false;
  ConvGeometry g;
  memory::desc x_md, w_md, b_md, y_md;  // the blobs' plain layouts
  memory::dims strides, dilates, pad_l, pad_r;

  // Built per shape: the forward descriptor at once (the backward ones take
  // it as a hint), each primitive the first time its direction runs.
  dnnl::convolution_forward::primitive_desc forward_pd;
  bool has_forward = false, has_backward_data = false, has_backward_weights = false;

  dnnl::convolution_forward forward;
  Activation forward_x, forward_y;
  ReorderedWeights forward_w;

  // The forward with the epilogue's work as post-ops (and with a bias where
  // the layer has none but fusion folded one in), built the first time a
  // configuration runs at this shape. Described as a training forward like
  // the plain one: oneDNN then picks the same kernel family (for inference
  // it picks others that sum in another order), so a fused net computes the
  // unfused one's products exactly.
  struct FusedConfig {
    bool bias = false, sum = false, relu = false;
    float negative_slope = 0.f;
    bool operator==(const FusedConfig& o) const {
      return bias == o.bias && sum == o.sum && relu == o.relu &&
             negative_slope == o.negative_slope;
    }
  };
  bool has_fused = false;
  FusedConfig fused_config;
  dnnl::convolution_forward fused;
  memory::desc fused_w_md;
  Activation fused_x, fused_y;

  dnnl::convolution_backward_data backward_data;
  memory::desc backward_data_w_md, backward_data_dy_md;
  Activation backward_data_dy, backward_data_dx;
  ReorderedWeights backward_data_w;

  dnnl::convolution_backward_weights backward_weights;
  Activation backward_weights_x, backward_weights_dy;
  memory dw_inner, dw_plain, db;
  bool dw_reorders = false;
  // From oneDNN's layout of the weight gradient to the blob's, adding to
  // what the blob holds (a sum post-op): a reorder into scratch and then an
  // Axpy passed over the weights' size three times more, 1-1.5 ms of each
  // 512x512x3x3 layer's backward on ResNet-50.
  dnnl::reorder dw_accumulate;

  // 1x1 convolutions read and write NCHW directly (oneDNN runs them as one
  // matrix product): measured on MobileNet v2 and ResNet-50, reordering to
  // the blocked layout and back costs more than it saves there, up to 2x.
  // Larger windows run on the blocked layout, 1.3-2x faster than on NCHW.
  bool plain_activations = false;

  memory::desc Any(const memory::dims& dims) const { return memory::desc(dims, kF32, Tag::any); }
  memory::desc Act(const memory::dims& dims) const {
    return memory::desc(dims, kF32, plain_activations ? Tag::nchw : Tag::any);
  }
  memory::desc BiasAny() const {
    return bias_term ? memory::desc({num_output}, kF32, Tag::any) : memory::desc();
  }

  // describe(algorithm), or the direct algorithm's where oneDNN has no
  // Winograd kernel for a backward pass.
  template <typename Describe>
  auto WithFallback(const Describe& describe) const {
    if (algorithm != dnnl::algorithm::convolution_direct) {
      try {
        return describe(algorithm);
      } catch (const dnnl::error&) {
      }
    }
    return describe(dnnl::algorithm::convolution_direct);
  }

  void BuildForward() {
    if (has_forward) return;
    forward = dnnl::convolution_forward(forward_pd);
    forward_x = Activation(x_md, forward_pd.src_desc(), kSlotX);
    forward_y = Activation(y_md, forward_pd.dst_desc(), kSlotY);
    has_forward = true;
  }

  void BuildFused(const FusedConfig& c) {
    if (has_fused && c == fused_config) return;
    dnnl::post_ops ops;
    if (c.sum) ops.append_sum(1.f);
    // oneDNN's relu with slope alpha is x > 0 ? x : alpha * x, Caffe's ReLU.
    if (c.relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, c.negative_slope, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    const memory::desc bias_md =
        c.bias ? memory::desc({num_output}, kF32, Tag::any) : memory::desc();
    auto describe = [&](dnnl::algorithm a) {
      dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, a,
                                           Act(x_md.dims()), Any(w_md.dims()), bias_md,
                                           Act(y_md.dims()), strides, dilates, pad_l, pad_r);
      return dnnl::convolution_forward::primitive_desc(desc, attr, CpuEngine());
    };
    const dnnl::convolution_forward::primitive_desc pd = WithFallback(describe);
    fused = dnnl::convolution_forward(pd);
    fused_w_md = pd.weights_desc();
    fused_x = Activation(x_md, pd.src_desc(), kSlotX);
    fused_y = Activation(y_md, pd.dst_desc(), kSlotY);
    fused_config = c;
    has_fused = true;
  }

  void BuildBackwardData() {
    if (has_backward_data) return;
    auto describe = [this](dnnl::algorithm a) {
      dnnl::convolution_backward_data::desc desc(a, Act(x_md.dims()), Any(w_md.dims()),
                                                 Act(y_md.dims()), strides, dilates, pad_l,
                                                 pad_r);
      return dnnl::convolution_backward_data::primitive_desc(desc, CpuEngine(), forward_pd);
    };
    const dnnl::convolution_backward_data::primitive_desc pd = WithFallback(describe);
    backward_data = dnnl::convolution_backward_data(pd);
    backward_data_w_md = pd.weights_desc();
    backward_data_dy_md = pd.diff_dst_desc();
    backward_data_dy = Activation(y_md, pd.diff_dst_desc(), kSlotY);
    backward_data_dx = Activation(x_md, pd.diff_src_desc(), kSlotDx);
    has_backward_data = true;
  }

  void BuildBackwardWeights() {
    if (has_backward_weights) return;
    auto describe = [this](dnnl::algorithm a) {
      dnnl::convolution_backward_weights::desc desc(a, Act(x_md.dims()), Any(w_md.dims()),
                                                    BiasAny(), Act(y_md.dims()), strides,
                                                    dilates, pad_l, pad_r);
      return dnnl::convolution_backward_weights::primitive_desc(desc, CpuEngine(), forward_pd);
    };
    const dnnl::convolution_backward_weights::primitive_desc pd = WithFallback(describe);
    backward_weights = dnnl::convolution_backward_weights(pd);
    backward_weights_x = Activation(x_md, pd.src_desc(), kSlotX);
    backward_weights_dy = Activation(y_md, pd.diff_dst_desc(), kSlotDy);
    // Parameter gradients land in the thread's scratch (bound at each
    // Backward) and are added to the blobs.
    dw_plain = memory(w_md, CpuEngine(), DNNL_MEMORY_NONE);
    dw_reorders = pd.diff_weights_desc() != w_md;
    if (dw_reorders) {
      dw_inner = memory(pd.diff_weights_desc(), CpuEngine(), DNNL_MEMORY_NONE);
      dnnl::post_ops sum;
      sum.append_sum(1.f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(sum);
      dw_accumulate = dnnl::reorder(
          dnnl::reorder::primitive_desc(CpuEngine(), dw_inner.get_desc(), CpuEngine(), w_md, attr));
    } else {
      dw_inner = dw_plain;
    }
    if (bias_term) db = memory(pd.diff_bias_desc(), CpuEngine());
    has_backward_weights = true;
  }
};

DnnlConvolution::DnnlConvolution(int num_output, int group, bool bias_term,
                                 std::string log_prefix)
    : p_(std::make_unique<Primitives>()) {
  p_->num_output = num_output;
  p_->group = group;
  p_->bias_term = bias_term;
  p_->log_prefix = std::move(log_prefix);
}

DnnlConvolution::~DnnlConvolution() = default;

void DnnlConvolution::SetShape(int num, const ConvGeometry& g) {
  Primitives& p = *p_;
  const bool same = p.has_shape && num == p.num && g.channels == p.g.channels &&
                    g.height == p.g.height && g.width == p.g.width &&
                    g.kernel_h == p.g.kernel_h && g.kernel_w == p.g.kernel_w &&
                    g.pad_h == p.g.pad_h && g.pad_w == p.g.pad_w &&
                    g.stride_h == p.g.stride_h && g.stride_w == p.g.stride_w &&
                    g.dilation_h == p.g.dilation_h && g.dilation_w == p.g.dilation_w;
  if (same) return;
  p.has_shape = true;
  p.num = num;
  p.g = g;
  p.has_forward = p.has_fused = p.has_backward_data = p.has_backward_weights = false;
  p.x_md = memory::desc({num, g.channels, g.height, g.width}, kF32, Tag::nchw);
  p.y_md = memory::desc({num, p.num_output, g.output_h(), g.output_w()}, kF32, Tag::nchw);
  // The blob's (num_output, channels / group, kh, kw) is goihw's layout.
  if (p.group > 1) {
    p.w_md = memory::desc({p.group, p.num_output / p.group, g.channels / p.group, g.kernel_h,
                           g.kernel_w}, kF32, Tag::goihw);
  } else {
    p.w_md = memory::desc({p.num_output, g.channels, g.kernel_h, g.kernel_w}, kF32, Tag::oihw);
  }
  p.plain_activations = g.kernel_h == 1 && g.kernel_w == 1;
  // Also the layout of a folded bias on a layer without its own.
  p.b_md = memory::desc({p.num_output}, kF32, Tag::x);
  p.strides = {g.stride_h, g.stride_w};
  // oneDNN counts dilation from 0 (no gaps), Caffe from 1. Caffe's output
  // size floor((in + 2 pad - extent) / stride) + 1 is oneDNN's with the same
  // padding on both sides.
  p.dilates = {g.dilation_h - 1, g.dilation_w - 1};
  p.pad_l = {g.pad_h, g.pad_w};
  p.pad_r = {g.pad_h, g.pad_w};
  auto describe = [&p](dnnl::algorithm algorithm) {
    dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_training, algorithm, p.Act(p.x_md.dims()),
        p.Any(p.w_md.dims()), p.BiasAny(), p.Act(p.y_md.dims()), p.strides, p.dilates,
        p.pad_l, p.pad_r);
    p.forward_pd = dnnl::convolution_forward::primitive_desc(desc, CpuEngine());
    p.algorithm = algorithm;
  };
  if (WinogradIsFaster(num, g, p.group)) {
    try {
      describe(dnnl::algorithm::convolution_winograd);
      return;
    } catch (const dnnl::error&) {
      // oneDNN has Winograd kernels for AVX-512 only.
      if (!p.winograd_missing_logged) {
        p.winograd_missing_logged = true;
        LOG(INFO) << p.log_prefix << "oneDNN has no Winograd convolution for this CPU; "
                  << "running the direct one";
      }
    }
  }
  try {
    describe(dnnl::algorithm::convolution_direct);
  } catch (const dnnl::error& e) {
    ThrowError(p.log_prefix, "oneDNN cannot describe this convolution: ", e.what());
  }
}

bool DnnlConvolution::winograd() const {
  return p_->has_shape && p_->algorithm == dnnl::algorithm::convolution_winograd;
}

void DnnlConvolution::Forward(const float* x, const Blob& weights, const float* bias, float* y,
                              const Epilogue* post, const float* add) {
  Primitives& p = *p_;
  const bool relu = post && post->relu;
  const bool extra_work = add || relu || (bias != nullptr && !p.bias_term);
  // Measured on ResNet-50's shapes (2-core AVX-512): the blocked-layout
  // kernels apply bias, sum and ReLU post-ops at no measurable cost, but the
  // matrix-product kernel of the plain-layout 1x1 convolutions runs 1.3-1.6x
  // slower with a ReLU post-op and 3.5-8x slower with a sum; those get one
  // pass over their output after the product instead.
  if (extra_work && !p.plain_activations) {
    Primitives::FusedConfig config;
    config.bias = bias != nullptr;
    config.sum = add != nullptr;
    config.relu = relu;
    config.negative_slope = relu ? post->negative_slope : 0.f;
    p.BuildFused(config);
    dnnl::stream& stream = ThreadStream();
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, p.fused_x.Read(x)},
        {DNNL_ARG_WEIGHTS, p.forward_w.Get(weights, p.w_md, p.fused_w_md)},
        {DNNL_ARG_DST, add ? p.fused_y.WriteOnto(y, add) : p.fused_y.Write(y)}};
    if (bias) args[DNNL_ARG_BIAS] = memory(p.b_md, CpuEngine(), const_cast<float*>(bias));
    p.fused.execute(stream, args);
    p.fused_y.Written(y);
    stream.wait();
    return;
  }
  p.BuildForward();
  dnnl::stream& stream = ThreadStream();
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, p.forward_x.Read(x)},
      {DNNL_ARG_WEIGHTS, p.forward_w.Get(weights, p.w_md, p.forward_pd.weights_desc())},
      {DNNL_ARG_DST, p.forward_y.Write(y)}};
  if (p.bias_term) {
    args[DNNL_ARG_BIAS] = memory(p.b_md, CpuEngine(), const_cast<float*>(bias));
  }
  p.forward.execute(stream, args);
  p.forward_y.Written(y);
  stream.wait();
  if (!extra_work) return;
  const float* late_bias = p.bias_term ? nullptr : bias;
  const Epilogue plain;  // a bias alone
  const Epilogue& rows = post ? *post : plain;
  const int64_t plane = int64_t(p.g.output_h()) * p.g.output_w();
  ParallelFor(0, int64_t(p.num) * p.num_output, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t offset = r * plane;
      rows.ApplyRow(y + offset, late_bias ? late_bias[r % p.num_output] : 0.f,
                    add ? add + offset : nullptr, plane, y + offset);
    }
  }, /*min_chunk=*/std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, plane)));
}

void DnnlConvolution::Backward(const float* x, const Blob& weights, const float* dy, float* dw,
                               float* db, float* dx) {
  Primitives& p = *p_;
  dnnl::stream& stream = ThreadStream();
  // Both passes read dy; when they want it in the same layout it is
  // reordered once.
  memory weights_dy;
  if (dw != nullptr || db != nullptr) {
    p.BuildBackwardWeights();
    // Without a reorder dw_inner is dw_plain, one memory object.
    if (p.dw_reorders) {
      p.dw_inner.set_data_handle(ThreadScratch(kSlotDw, p.dw_inner.get_desc().get_size()));
    } else {
      p.dw_plain.set_data_handle(ThreadScratch(kSlotDwPlain, p.w_md.get_size()));
    }
    weights_dy = p.backward_weights_dy.Read(dy);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, p.backward_weights_x.Read(x)},
                                         {DNNL_ARG_DIFF_DST, weights_dy},
                                         {DNNL_ARG_DIFF_WEIGHTS, p.dw_inner}};
    if (p.bias_term) args[DNNL_ARG_DIFF_BIAS] = p.db;
    p.backward_weights.execute(stream, args);
    if (dw != nullptr && p.dw_reorders) {
      memory blob_dw(p.w_md, CpuEngine(), dw);
      p.dw_accumulate.execute(stream, p.dw_inner, blob_dw);
    }
  }
  if (dx != nullptr) {
    p.BuildBackwardData();
    const bool shared_dy = weights_dy && weights_dy.get_desc() == p.backward_data_dy_md;
    p.backward_data.execute(
        stream,
        {{DNNL_ARG_DIFF_DST, shared_dy ? weights_dy : p.backward_data_dy.Read(dy)},
         {DNNL_ARG_WEIGHTS, p.backward_data_w.Get(weights, p.w_md, p.backward_data_w_md)},
         {DNNL_ARG_DIFF_SRC, p.backward_data_dx.Write(dx)}});
    p.backward_data_dx.Written(dx);
  }
  stream.wait();
  // oneDNN overwrites its gradients; parameter gradients accumulate.
  if (dw != nullptr && !p.dw_reorders) {
    Axpy(static_cast<int64_t>(p.w_md.get_size() / sizeof(float)), 1.f,
         static_cast<const float*>(p.dw_plain.get_data_handle()), dw);
  }
  if (db != nullptr && p.bias_term) {
    Axpy(p.num_output, 1.f, static_cast<const float*>(p.db.get_data_handle()), db);
  }
}

}  // namespace cortado
