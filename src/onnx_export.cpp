// ExportOnnx: the Caffe-layer to ONNX-node translation behind `cortado export`.
#include "cortado/onnx_export.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/conv_param.hpp"
#include "cortado/im2col.hpp"
#include "cortado/net.hpp"
#include "cortado_onnx.pb.h"

namespace cortado {
namespace {

using Shape = std::vector<int>;

int64_t Product(const Shape& s, size_t from = 0, size_t to = size_t(-1)) {
  int64_t n = 1;
  for (size_t i = from; i < s.size() && i < to; ++i) n *= s[i];
  return n;
}

int CanonicalAxis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }

// Builds one graph. Caffe reuses blob names for in-place layers; ONNX values
// are written once, so every write of a blob gets its own value name, the
// last write keeping the Caffe name (net outputs keep their names).
class Exporter {
 public:
  explicit Exporter(const Net& net) : net_(net) {}

  std::string Run() {
    cortado_onnx::ModelProto model;
    model.set_ir_version(7);  // the IR version of opset 13
    model.set_producer_name("cortado");
    model.set_model_version(1);
    cortado_onnx::OperatorSetIdProto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOnnxOpset);
    graph_ = model.mutable_graph();
    graph_->set_name(net_.name().empty() ? "net" : net_.name());
    CountWrites();
    for (int id : net_.input_blob_indices()) {
      const std::string& name = net_.blob_names()[id];
      AddValueInfo(graph_->add_input(), name, net_.blobs()[id]->shape());
      current_[name] = name;
      used_.insert(name);
    }
    const auto& layers = net_.layers();
    for (size_t i = 0; i < layers.size(); ++i) ExportLayer(static_cast<int>(i));
    DropUnusedInputs();
    for (int id : net_.output_blob_indices()) {
      const std::string& name = net_.blob_names()[id];
      std::string value = Value(name);
      if (value != name && used_.count(name) == 0) {  // an alias (Split/Dropout top)
        AddNode("Identity", {value}, {name});
      }
      AddValueInfo(graph_->add_output(), name, net_.blobs()[id]->shape());
    }
    std::string bytes;
    if (!model.SerializeToString(&bytes)) ThrowError("ONNX export: cannot serialise the model");
    return bytes;
  }

 private:
  // A net input that only gives a shape (Crop's reference) feeds no node;
  // it is left out, as importers (OpenCV's) reject inputs nothing reads.
  void DropUnusedInputs() {
    std::set<std::string> read;
    for (const auto& node : graph_->node()) read.insert(node.input().begin(), node.input().end());
    for (int id : net_.output_blob_indices()) read.insert(net_.blob_names()[id]);
    auto* inputs = graph_->mutable_input();
    for (int k = inputs->size() - 1; k >= 0; --k) {
      if (read.count(inputs->Get(k).name()) == 0) inputs->DeleteSubrange(k, 1);
    }
  }

  void CountWrites() {
    for (size_t i = 0; i < net_.top_ids().size(); ++i) {
      for (int id : net_.top_ids()[i]) ++writes_left_[net_.blob_names()[id]];
    }
  }

  static void AddValueInfo(cortado_onnx::ValueInfoProto* info, const std::string& name,
                           const Shape& shape) {
    info->set_name(name);
    cortado_onnx::TypeProto_Tensor* t = info->mutable_type()->mutable_tensor_type();
    t->set_elem_type(cortado_onnx::TensorProto::FLOAT);
    for (int d : shape) t->mutable_shape()->add_dim()->set_dim_value(d);
  }

  // The value currently holding Caffe blob `blob`.
  std::string Value(const std::string& blob) const {
    auto it = current_.find(blob);
    if (it == current_.end()) ThrowError("ONNX export: blob '", blob, "' is used before written");
    return it->second;
  }

  // A fresh value name for the next write of blob `blob`.
  std::string Write(const std::string& blob) {
    const bool last = --writes_left_[blob] <= 0;
    std::string name = blob;
    // Earlier writes, and a net input rewritten in place, take a suffix.
    if (!last || used_.count(name) > 0) {
      do {
        name = blob + "#" + std::to_string(++version_[blob]);
      } while (used_.count(name) > 0);
    }
    used_.insert(name);
    current_[blob] = name;
    return name;
  }

  std::string Temp(const std::string& hint) {
    return layer_name_ + "/" + hint + "#t" + std::to_string(temp_counter_++);
  }

  cortado_onnx::NodeProto* AddNode(const std::string& op, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs) {
    cortado_onnx::NodeProto* node = graph_->add_node();
    node->set_op_type(op);
    node->set_name(layer_name_ + "/" + op + std::to_string(graph_->node_size()));
    for (const std::string& s : inputs) node->add_input(s);
    for (const std::string& s : outputs) node->add_output(s);
    return node;
  }

  static void Attr(cortado_onnx::NodeProto* node, const std::string& name, int64_t v) {
    cortado_onnx::AttributeProto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(cortado_onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void Attr(cortado_onnx::NodeProto* node, const std::string& name, float v) {
    cortado_onnx::AttributeProto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(cortado_onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void Attr(cortado_onnx::NodeProto* node, const std::string& name, const std::string& v) {
    cortado_onnx::AttributeProto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(cortado_onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void Attr(cortado_onnx::NodeProto* node, const std::string& name,
                   const std::vector<int64_t>& v) {
    cortado_onnx::AttributeProto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(cortado_onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  // A float initializer of the given shape.
  std::string Floats(const std::string& hint, const std::vector<float>& values,
                     const std::vector<int64_t>& shape) {
    std::string name = Temp(hint);
    cortado_onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(cortado_onnx::TensorProto::FLOAT);
    for (int64_t d : shape) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()),
                                values.size() * sizeof(float)));
    return name;
  }
  std::string Scalar(const std::string& hint, float v) { return Floats(hint, {v}, {}); }
  std::string Ints(const std::string& hint, const std::vector<int64_t>& values) {
    std::string name = Temp(hint);
    cortado_onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(cortado_onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
    return name;
  }
  std::string ParamBlob(int index, const std::vector<int64_t>& shape, float scale = 1.f) {
    const Blob& b = *layer_->blobs().at(index);
    std::vector<float> v(b.cpu_data(), b.cpu_data() + b.count());
    if (scale != 1.f) for (float& x : v) x *= scale;
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    if (n != b.count()) {
      ThrowError(Where(), "parameter ", index, " has ", b.count(), " values, expected ", n);
    }
    return Floats("param" + std::to_string(index), v, shape);
  }
  static std::vector<int64_t> Dims(const Shape& s) { return {s.begin(), s.end()}; }

  // A Reshape of `input` to `shape` (static).
  std::string ReshapeTo(const std::string& input, const Shape& shape, const std::string& out) {
    AddNode("Reshape", {input, Ints("shape", Dims(shape))}, {out});
    return out;
  }

  // Multiplies/adds a parameter or second input aligned at `axis` (Caffe's
  // Scale/Bias broadcasting): reshaped to its dims followed by ones.
  std::vector<int64_t> AlignedShape(const Shape& param, int axis, int rank) {
    std::vector<int64_t> s(param.begin(), param.end());
    while (static_cast<int>(s.size()) + axis < rank) s.push_back(1);
    return s;
  }

  std::string Where() const {
    return "ONNX export: layer '" + layer_name_ + "' (type " + layer_type_ + "): ";
  }

  [[noreturn]] void Unsupported(const std::string& why) { ThrowError(Where(), why); }

  void ExportLayer(int i) {
    layer_ = net_.layers()[i].get();
    const caffe::LayerParameter& p = layer_->layer_param();
    layer_name_ = p.name();
    layer_type_ = p.type();
    std::vector<std::string> bottoms;
    std::vector<Shape> bshapes;
    for (int id : net_.bottom_ids()[i]) {
      bottoms.push_back(Value(net_.blob_names()[id]));
      bshapes.push_back(net_.blobs()[id]->shape());
    }
    std::vector<std::string> top_blobs;
    std::vector<Shape> tshapes;
    for (int id : net_.top_ids()[i]) {
      top_blobs.push_back(net_.blob_names()[id]);
      tshapes.push_back(net_.blobs()[id]->shape());
    }
    const std::string& t = layer_type_;
    // Inputs are declared already; Silence only consumes.
    if (t == "Input" || t == "Silence") return;
    // Split and Dropout (at TEST) copy: their tops alias the bottom value.
    if (t == "Split" || t == "Dropout") {
      for (const std::string& top : top_blobs) {
        --writes_left_[top];
        current_[top] = bottoms.at(0);
      }
      return;
    }
    if (bottoms.empty() || top_blobs.empty()) {
      Unsupported("has no ONNX form (no bottom or no top: a data or loss layer?)");
    }
    const std::string x = bottoms[0];
    const Shape& xs = bshapes[0];
    const int rank = static_cast<int>(xs.size());
    // Output names are taken once the node is emitted, so an in-place layer
    // reads its bottom's previous value.
    auto out = [&](int k = 0) { return Write(top_blobs.at(k)); };

    if (t == "Convolution" || t == "Deconvolution") {
      const caffe::ConvolutionParameter& cp = p.convolution_param();
      int axis = CanonicalAxis(cp.axis(), rank);
      if (axis != 1) Unsupported("only axis 1 convolutions map to ONNX");
      ConvGeometryNd g;
      ReadConvWindowNd(cp, Where(), rank - 2, &g);
      const Blob& w = *layer_->blobs().at(0);
      std::vector<std::string> in = {x, ParamBlob(0, Dims(w.shape()))};
      if (cp.bias_term()) in.push_back(ParamBlob(1, {layer_->blobs().at(1)->count()}));
      std::vector<int64_t> pads(g.pad.begin(), g.pad.end());
      pads.insert(pads.end(), g.pad.begin(), g.pad.end());
      cortado_onnx::NodeProto* n =
          AddNode(t == "Convolution" ? "Conv" : "ConvTranspose", in, {out()});
      Attr(n, "kernel_shape", std::vector<int64_t>(g.kernel.begin(), g.kernel.end()));
      Attr(n, "strides", std::vector<int64_t>(g.stride.begin(), g.stride.end()));
      Attr(n, "dilations", std::vector<int64_t>(g.dilation.begin(), g.dilation.end()));
      Attr(n, "pads", pads);
      Attr(n, "group", static_cast<int64_t>(cp.group()));
    } else if (t == "InnerProduct") {
      const caffe::InnerProductParameter& ip = p.inner_product_param();
      int axis = CanonicalAxis(ip.axis(), rank);
      const Shape& ts = tshapes[0];
      std::string flat = Temp("flat");
      Attr(AddNode("Flatten", {x}, {flat}), "axis", static_cast<int64_t>(axis));
      // Gemm with transB over an N x K weight, transposing Caffe's K x N form
      // (transpose: true) here: OpenCV reads Gemm only in that form.
      const Blob& w = *layer_->blobs().at(0);
      std::string weights;
      if (ip.transpose()) {
        const int k = w.shape(0), n = w.shape(1);
        std::vector<float> wt(w.count());
        for (int r = 0; r < k; ++r) {
          for (int c = 0; c < n; ++c) wt[int64_t(c) * k + r] = w.cpu_data()[int64_t(r) * n + c];
        }
        weights = Floats("weights", wt, {n, k});
      } else {
        weights = ParamBlob(0, Dims(w.shape()));
      }
      std::vector<std::string> in = {flat, weights};
      if (ip.bias_term()) in.push_back(ParamBlob(1, {layer_->blobs().at(1)->count()}));
      bool two_d = ts.size() == 2;
      std::string gemm_out = two_d ? out() : Temp("gemm");
      cortado_onnx::NodeProto* n = AddNode("Gemm", in, {gemm_out});
      Attr(n, "transB", int64_t{1});
      if (!two_d) ReshapeTo(gemm_out, ts, out());
    } else if (t == "Pooling") {
      ExportPooling(p.pooling_param(), x, xs, tshapes[0], out);
    } else if (t == "ReLU") {
      float slope = p.relu_param().negative_slope();
      cortado_onnx::NodeProto* n = AddNode(slope != 0 ? "LeakyRelu" : "Relu", {x}, {out()});
      if (slope != 0) Attr(n, "alpha", slope);
    } else if (t == "PReLU") {
      const Blob& s = *layer_->blobs().at(0);
      std::vector<int64_t> shape = {s.count()};
      if (!p.prelu_param().channel_shared()) {
        while (static_cast<int>(shape.size()) < rank - 1) shape.push_back(1);
      }
      AddNode("PRelu", {x, ParamBlob(0, shape)}, {out()});
    } else if (t == "Sigmoid" || t == "TanH" || t == "AbsVal") {
      AddNode(t == "Sigmoid" ? "Sigmoid" : t == "TanH" ? "Tanh" : "Abs", {x}, {out()});
    } else if (t == "ELU") {
      Attr(AddNode("Elu", {x}, {out()}), "alpha", p.elu_param().alpha());
    } else if (t == "Clip") {
      // min + relu(x - min) - relu(x - max): OpenCV 4.6 reads Clip only in
      // its opset-6 form (bounds as attributes), not opset 13's inputs.
      const float lo = p.clip_param().min(), hi = p.clip_param().max();
      std::string above_lo = Temp("above_min"), above_hi = Temp("above_max"), d = Temp("diff");
      AddNode("Relu", {Affine(x, 1.f, -lo)}, {above_lo});
      AddNode("Relu", {Affine(x, 1.f, -hi)}, {above_hi});
      AddNode("Sub", {above_lo, above_hi}, {d});
      AddNode("Add", {d, Scalar("min", lo)}, {out()});
    } else if (t == "Power") {
      const caffe::PowerParameter& pp = p.power_param();
      std::string v = Affine(x, pp.scale(), pp.shift());
      // Small integer powers and square roots are products and Sqrt: OpenCV
      // 4.6 folds a Mul/Add that follows its Pow into the power's input (a
      // wrong result), and these forms are exact anyway.
      const float power = pp.power();
      if (power == 1.f) {
        AddNode("Identity", {v}, {out()});
      } else if (power == 0.5f) {
        AddNode("Sqrt", {v}, {out()});
      } else if (power == 2.f || power == 3.f || power == 4.f) {
        std::vector<std::string> factors(static_cast<size_t>(power), v);
        Chain("Mul", factors, out());
      } else {
        AddNode("Pow", {v, Scalar("power", power)}, {out()});
      }
    } else if (t == "Exp") {
      const caffe::ExpParameter& ep = p.exp_param();
      double ln_base = ep.base() == -1.f ? 1.0 : std::log(double(ep.base()));
      std::string v = Affine(x, float(ep.scale() * ln_base), float(ep.shift() * ln_base));
      AddNode("Exp", {v}, {out()});
    } else if (t == "Log") {
      const caffe::LogParameter& lp = p.log_param();
      std::string v = Affine(x, lp.scale(), lp.shift());
      if (lp.base() == -1.f) {
        AddNode("Log", {v}, {out()});
      } else {
        std::string l = Temp("log");
        AddNode("Log", {v}, {l});
        AddNode("Mul", {l, Scalar("inv_ln_base", float(1.0 / std::log(double(lp.base()))))},
                {out()});
      }
    } else if (t == "Swish") {
      float beta = p.swish_param().beta();
      std::string s = Temp("sigmoid");
      AddNode("Sigmoid", {Affine(x, beta, 0.f)}, {s});
      AddNode("Mul", {x, s}, {out()});
    } else if (t == "LRN") {
      const caffe::LRNParameter& lp = p.lrn_param();
      if (lp.norm_region() != caffe::LRNParameter::ACROSS_CHANNELS) {
        Unsupported("only ACROSS_CHANNELS LRN maps to ONNX");
      }
      cortado_onnx::NodeProto* n = AddNode("LRN", {x}, {out()});
      Attr(n, "size", static_cast<int64_t>(lp.local_size()));
      Attr(n, "alpha", lp.alpha());
      Attr(n, "beta", lp.beta());
      Attr(n, "bias", lp.k());
    } else if (t == "BatchNorm") {
      // Caffe keeps the running sums times a moving-average factor (blob 2).
      const int c = rank > 1 ? xs[1] : 1;
      float factor = layer_->blobs().at(2)->cpu_data()[0];
      float inv = factor == 0 ? 0.f : 1.f / factor;
      std::vector<float> ones(c, 1.f), zeros(c, 0.f);
      cortado_onnx::NodeProto* n = AddNode(
          "BatchNormalization",
          {x, Floats("gamma", ones, {c}), Floats("beta", zeros, {c}), ParamBlob(0, {c}, inv),
           ParamBlob(1, {c}, inv)},
          {out()});
      Attr(n, "epsilon", p.batch_norm_param().eps());
    } else if (t == "Scale" || t == "Bias") {
      ExportScaleBias(p, bottoms, bshapes, out);
    } else if (t == "Eltwise") {
      const caffe::EltwiseParameter& ep = p.eltwise_param();
      if (ep.operation() == caffe::EltwiseParameter::SUM) {
        std::vector<std::string> terms;
        for (size_t k = 0; k < bottoms.size(); ++k) {
          float coeff = ep.coeff_size() > 0 ? ep.coeff(k) : 1.f;
          terms.push_back(coeff == 1.f ? bottoms[k] : Affine(bottoms[k], coeff, 0.f));
        }
        Chain("Add", terms, out());
      } else {
        Chain(ep.operation() == caffe::EltwiseParameter::PROD ? "Mul" : "Max", bottoms, out());
      }
    } else if (t == "Concat") {
      const caffe::ConcatParameter& cp = p.concat_param();
      int axis = cp.has_axis() || !cp.has_concat_dim() ? cp.axis() : cp.concat_dim();
      Attr(AddNode("Concat", bottoms, {out()}), "axis",
           static_cast<int64_t>(CanonicalAxis(axis, rank)));
    } else if (t == "Slice") {
      const caffe::SliceParameter& sp = p.slice_param();
      int axis = CanonicalAxis(sp.has_slice_dim() && !sp.has_axis() ? sp.slice_dim() : sp.axis(),
                               rank);
      int64_t begin = 0;
      for (size_t k = 0; k < top_blobs.size(); ++k) {
        int64_t end = begin + tshapes[k][axis];
        AddNode("Slice", {x, Ints("starts", {begin}), Ints("ends", {end}), Ints("axes", {axis})},
                {out(static_cast<int>(k))});
        begin = end;
      }
    } else if (t == "Softmax") {
      Attr(AddNode("Softmax", {x}, {out()}), "axis",
           static_cast<int64_t>(CanonicalAxis(p.softmax_param().axis(), rank)));
    } else if (t == "Flatten" || t == "Reshape") {
      ReshapeTo(x, tshapes[0], out());
    } else if (t == "Permute") {
      std::vector<int64_t> perm;
      for (uint32_t o : p.permute_param().order()) perm.push_back(o);
      for (int k = 0; k < rank; ++k) {
        bool listed = false;
        for (int64_t o : perm) listed |= o == k;
        if (!listed) perm.push_back(k);
      }
      Attr(AddNode("Transpose", {x}, {out()}), "perm", perm);
    } else if (t == "Crop") {
      const caffe::CropParameter& cp = p.crop_param();
      int axis = CanonicalAxis(cp.axis(), rank);
      std::vector<int64_t> starts, ends, axes;
      for (int a = axis; a < rank; ++a) {
        int k = a - axis;
        int64_t off = cp.offset_size() == 0   ? 0
                      : cp.offset_size() == 1 ? cp.offset(0)
                                              : cp.offset(k);
        starts.push_back(off);
        ends.push_back(off + tshapes[0][a]);
        axes.push_back(a);
      }
      AddNode("Slice", {x, Ints("starts", starts), Ints("ends", ends), Ints("axes", axes)},
              {out()});
    } else if (t == "ShuffleChannel") {
      int64_t g = p.shuffle_channel_param().group();
      if (rank != 4) Unsupported("ShuffleChannel maps for 4-D inputs only");
      std::string a = Temp("grouped"), b = Temp("swapped");
      ReshapeTo(x, {xs[0], int(g), int(xs[1] / g), xs[2], xs[3]}, a);
      Attr(AddNode("Transpose", {a}, {b}), "perm", std::vector<int64_t>{0, 2, 1, 3, 4});
      ReshapeTo(b, xs, out());
    } else if (t == "ArgMax") {
      const caffe::ArgMaxParameter& ap = p.argmax_param();
      if (ap.out_max_val() || ap.top_k() != 1) {
        Unsupported("only top_k 1 without out_max_val maps to ONNX ArgMax");
      }
      std::string in = x;
      int64_t axis = 1;
      if (ap.has_axis()) {
        axis = CanonicalAxis(ap.axis(), rank);
      } else {
        in = Temp("flat");
        Attr(AddNode("Flatten", {x}, {in}), "axis", int64_t{1});
      }
      std::string idx = Temp("index"), f = Temp("float");
      cortado_onnx::NodeProto* n = AddNode("ArgMax", {in}, {idx});
      Attr(n, "axis", axis);
      Attr(n, "keepdims", int64_t{1});
      Attr(AddNode("Cast", {idx}, {f}), "to",
           static_cast<int64_t>(cortado_onnx::TensorProto::FLOAT));
      ReshapeTo(f, tshapes[0], out());
    } else if (t == "Reduction") {
      ExportReduction(p.reduction_param(), x, xs, tshapes[0], out);
    } else if (t == "BNLL") {
      AddNode("Softplus", {x}, {out()});  // log(1 + exp(x))
    } else if (t == "Upsample") {
      if (bottoms.size() != 1) Unsupported("only nearest Upsample (one bottom, no mask) maps");
      const caffe::UpsampleParameter& up = p.upsample_param();
      const int sh = up.has_scale_h() ? up.scale_h() : up.scale();
      const int sw = up.has_scale_w() ? up.scale_w() : up.scale();
      const Shape& ts = tshapes[0];
      if (rank != 4 || ts[2] > xs[2] * sh || ts[3] > xs[3] * sw) {
        Unsupported("Upsample maps when its output is at most input x scale");
      }
      // Output row i reads input row floor(i / scale): Resize's asymmetric
      // nearest-floor at the full scaled size, then the pad_out crop.
      const bool crop = ts[2] != xs[2] * sh || ts[3] != xs[3] * sw;
      std::string r = crop ? Temp("resized") : out();
      cortado_onnx::NodeProto* n =
          AddNode("Resize", {x, "", Floats("scales", {1.f, 1.f, float(sh), float(sw)}, {4})}, {r});
      Attr(n, "mode", std::string("nearest"));
      Attr(n, "coordinate_transformation_mode", std::string("asymmetric"));
      Attr(n, "nearest_mode", std::string("floor"));
      if (crop) {
        AddNode("Slice", {r, Ints("starts", {0, 0}), Ints("ends", {ts[2], ts[3]}),
                          Ints("axes", {2, 3})}, {out()});
      }
    } else if (t == "Interp") {
      // Bilinear with aligned corners, after the crop that non-positive
      // pad_beg/pad_end ask for.
      const caffe::InterpParameter& ip = p.interp_param();
      if (rank != 4) Unsupported("Interp maps for 4-D inputs only");
      std::string in = x;
      if (ip.pad_beg() != 0 || ip.pad_end() != 0) {
        in = Temp("cropped");
        AddNode("Slice", {x, Ints("starts", {-ip.pad_beg(), -ip.pad_beg()}),
                          Ints("ends", {xs[2] + ip.pad_end(), xs[3] + ip.pad_end()}),
                          Ints("axes", {2, 3})}, {in});
      }
      cortado_onnx::NodeProto* n =
          AddNode("Resize", {in, "", "", Ints("sizes", Dims(tshapes[0]))}, {out()});
      Attr(n, "mode", std::string("linear"));
      Attr(n, "coordinate_transformation_mode", std::string("align_corners"));
    } else if (t == "Normalize") {
      ExportNormalize(p.norm_param(), x, xs, out);
    } else {
      Unsupported("has no ONNX mapping");
    }
  }

  // x * scale + shift, leaving out unit factors.
  std::string Affine(const std::string& x, float scale, float shift) {
    std::string v = x;
    if (scale != 1.f) {
      std::string o = Temp("scaled");
      AddNode("Mul", {v, Scalar("scale", scale)}, {o});
      v = o;
    }
    if (shift != 0.f) {
      std::string o = Temp("shifted");
      AddNode("Add", {v, Scalar("shift", shift)}, {o});
      v = o;
    }
    return v;
  }

  // A left fold of a binary op over `terms`, into `out`.
  void Chain(const std::string& op, const std::vector<std::string>& terms,
             const std::string& out) {
    if (terms.size() == 1) {
      AddNode("Identity", terms, {out});
      return;
    }
    std::string acc = terms[0];
    for (size_t k = 1; k < terms.size(); ++k) {
      std::string o = k + 1 == terms.size() ? out : Temp(op);
      AddNode(op, {acc, terms[k]}, {o});
      acc = o;
    }
  }

  template <typename Out>
  void ExportPooling(const caffe::PoolingParameter& pp, const std::string& x, const Shape& xs,
                     const Shape& ts, Out out) {
    const bool max = pp.pool() == caffe::PoolingParameter::MAX;
    if (!max && pp.pool() != caffe::PoolingParameter::AVE) {
      Unsupported("only MAX and AVE pooling map to ONNX");
    }
    if (xs.size() != 4) Unsupported("pooling maps for 4-D inputs only");
    if (pp.global_pooling()) {
      AddNode(max ? "GlobalMaxPool" : "GlobalAveragePool", {x}, {out()});
      return;
    }
    int kh = pp.has_kernel_size() ? pp.kernel_size() : pp.kernel_h();
    int kw = pp.has_kernel_size() ? pp.kernel_size() : pp.kernel_w();
    int ph = pp.has_pad() ? pp.pad() : pp.pad_h();
    int pw = pp.has_pad() ? pp.pad() : pp.pad_w();
    int sh = pp.has_stride_h() ? pp.stride_h() : pp.stride();
    int sw = pp.has_stride_w() ? pp.stride_w() : pp.stride();
    // Caffe may round the output size up (ceil); ONNX floors. Extra end pads
    // make the floored size Caffe's.
    int eh = (ts[2] - 1) * sh + kh - xs[2] - ph;
    int ew = (ts[3] - 1) * sw + kw - xs[3] - pw;
    if (eh < 0 || ew < 0) {
      // Caffe dropped a last window that would start in the padding: fewer
      // end pads than begin pads make ONNX floor to the same size.
      eh = std::max(eh, 0);
      ew = std::max(ew, 0);
    }
    std::string in = x;
    std::vector<int64_t> pads = {ph, pw, eh, ew};
    if (!max && (ph > 0 || pw > 0)) {
      // Caffe's average divides by the window clipped to the input plus its
      // pads: begin/end pads count, ceil's extra end cells do not. Explicit
      // zero padding (which counts) and count_include_pad 0 for the rest say
      // exactly that. (OpenCV 4.6 ignores count_include_pad 1, so the
      // explicit form is used even where no extra end cells exist.)
      in = Temp("padded");
      AddNode("Pad", {x, Ints("pads", {0, 0, ph, pw, 0, 0, ph, pw})}, {in});
      pads = {0, 0, std::max(eh - ph, 0), std::max(ew - pw, 0)};
    }
    cortado_onnx::NodeProto* n = AddNode(max ? "MaxPool" : "AveragePool", {in}, {out()});
    Attr(n, "kernel_shape", std::vector<int64_t>{kh, kw});
    Attr(n, "strides", std::vector<int64_t>{sh, sw});
    Attr(n, "pads", pads);
    if (!max) Attr(n, "count_include_pad", int64_t{0});
  }

  template <typename Out>
  void ExportScaleBias(const caffe::LayerParameter& p, const std::vector<std::string>& bottoms,
                       const std::vector<Shape>& bshapes, Out out) {
    const bool scale = p.type() == "Scale";
    const int rank = static_cast<int>(bshapes[0].size());
    int axis = CanonicalAxis(scale ? p.scale_param().axis() : p.bias_param().axis(), rank);
    std::string factor;
    int next_blob = 0;
    if (bottoms.size() > 1) {
      factor = Temp("operand");
      std::vector<int64_t> s = AlignedShape(bshapes[1], axis, rank);
      AddNode("Reshape", {bottoms[1], Ints("shape", s)}, {factor});
    } else {
      const Blob& b = *layer_->blobs().at(0);
      factor = ParamBlob(0, AlignedShape(b.shape(), axis, rank));
      next_blob = 1;
    }
    const bool bias_after = scale && p.scale_param().bias_term();
    std::string first_out = bias_after ? Temp("scaled") : out();
    AddNode(scale ? "Mul" : "Add", {bottoms[0], factor}, {first_out});
    if (bias_after) {
      const Blob& b = *layer_->blobs().at(next_blob);
      AddNode("Add", {first_out, ParamBlob(next_blob, AlignedShape(b.shape(), axis, rank))},
              {out()});
    }
  }

  template <typename Out>
  void ExportReduction(const caffe::ReductionParameter& rp, const std::string& x,
                       const Shape& xs, const Shape& ts, Out out) {
    const int rank = static_cast<int>(xs.size());
    int axis = CanonicalAxis(rp.axis(), rank);
    Shape flat(xs.begin(), xs.begin() + axis);
    flat.push_back(static_cast<int>(Product(xs, axis)));
    std::string f = Temp("flat"), r = Temp("reduced");
    ReshapeTo(x, flat, f);
    std::string op;
    switch (rp.operation()) {
      case caffe::ReductionParameter::SUM: op = "ReduceSum"; break;
      case caffe::ReductionParameter::ASUM: op = "ReduceL1"; break;
      case caffe::ReductionParameter::SUMSQ: op = "ReduceSumSquare"; break;
      case caffe::ReductionParameter::MEAN: op = "ReduceMean"; break;
      default: Unsupported("unknown reduction operation");
    }
    // A sum is a mean times the count: opset 13's ReduceSum takes its axes
    // as an input, a form OpenCV 4.6 does not read.
    float coeff = rp.coeff();
    if (op == "ReduceSum") {
      op = "ReduceMean";
      coeff *= static_cast<float>(flat.back());
    }
    cortado_onnx::NodeProto* n = AddNode(op, {f}, {r});
    Attr(n, "axes", std::vector<int64_t>{axis});
    Attr(n, "keepdims", int64_t{0});
    std::string v = Affine(r, coeff, 0.f);
    ReshapeTo(v, ts.empty() ? Shape{} : ts, out());
  }

  template <typename Out>
  void ExportNormalize(const caffe::NormalizeParameter& np, const std::string& x,
                       const Shape& xs, Out out) {
    const int rank = static_cast<int>(xs.size());
    if (rank < 2) Unsupported("Normalize needs at least 2 axes");
    std::vector<int64_t> axes;
    if (np.across_spatial()) {
      for (int a = 1; a < rank; ++a) axes.push_back(a);
    } else {
      axes.push_back(1);
    }
    std::string sq = Temp("sumsq"), norm = Temp("norm"), div = Temp("normalised");
    cortado_onnx::NodeProto* n = AddNode("ReduceSumSquare", {x}, {sq});
    Attr(n, "axes", axes);
    Attr(n, "keepdims", int64_t{1});
    std::string eps = Affine(sq, 1.f, np.eps());
    AddNode("Sqrt", {eps}, {norm});
    AddNode("Div", {x, norm}, {div});
    const Blob& s = *layer_->blobs().at(0);
    std::vector<int64_t> shape = {s.count()};
    if (!np.channel_shared()) {
      while (static_cast<int>(shape.size()) < rank - 1) shape.push_back(1);
    }
    AddNode("Mul", {div, ParamBlob(0, np.channel_shared() ? std::vector<int64_t>{} : shape)},
            {out()});
  }

  const Net& net_;
  cortado_onnx::GraphProto* graph_ = nullptr;
  const Layer* layer_ = nullptr;
  std::string layer_name_, layer_type_;
  std::map<std::string, std::string> current_;
  std::map<std::string, int> writes_left_, version_;
  std::set<std::string> used_;
  int temp_counter_ = 0;
};

}  // namespace

std::string ExportOnnxBytes(const Net& net) { return Exporter(net).Run(); }

void ExportOnnx(const Net& net, const std::string& path) {
  std::string bytes = ExportOnnxBytes(net);
  std::ofstream file(path, std::ios::binary);
  if (!file) ThrowError("ONNX export: cannot open '", path, "' for writing");
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!file) ThrowError("ONNX export: cannot write '", path, "'");
}

}  // namespace cortado
