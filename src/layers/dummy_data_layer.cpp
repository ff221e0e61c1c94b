// DummyData: tops of fixed shapes filled by fillers, for tests and benchmarks
// that need data without a data source.
#include <vector>

#include "cortado/filler.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class DummyDataLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "DummyData"; }
  int ExactNumBottomBlobs() const override { return 0; }
  int MinTopBlobs() const override { return 1; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    const caffe::DummyDataParameter& p = layer_param_.dummy_data_param();
    const int num_tops = static_cast<int>(top.size());
    // Each list holds one entry shared by every top, or one per top.
    auto check_count = [&](const char* field, int count, bool may_be_empty) {
      if ((count == 0 && may_be_empty) || count == 1 || count == num_tops) return;
      ThrowError(ErrorPrefix(), "dummy_data_param has ", count, " ", field, " entries for ",
                 num_tops, " top(s); give ", may_be_empty ? "none, " : "", "one, or one per top");
    };
    check_count("data_filler", p.data_filler_size(), true);
    const bool legacy = p.num_size() > 0 || p.channels_size() > 0 || p.height_size() > 0 ||
                        p.width_size() > 0;
    if (legacy && p.shape_size() > 0) {
      ThrowError(ErrorPrefix(), "dummy_data_param gives both shape and num/channels/height/"
                 "width; use shape");
    }
    shapes_.assign(num_tops, {});
    if (legacy) {
      check_count("num", p.num_size(), false);
      check_count("channels", p.channels_size(), false);
      check_count("height", p.height_size(), false);
      check_count("width", p.width_size(), false);
      auto pick = [](const google::protobuf::RepeatedField<uint32_t>& values, int i) {
        return static_cast<int>(values.Get(values.size() == 1 ? 0 : i));
      };
      for (int i = 0; i < num_tops; ++i) {
        shapes_[i] = {pick(p.num(), i), pick(p.channels(), i), pick(p.height(), i),
                      pick(p.width(), i)};
      }
    } else {
      check_count("shape", p.shape_size(), false);
      for (int i = 0; i < num_tops; ++i) {
        const caffe::BlobShape& shape = p.shape(p.shape_size() == 1 ? 0 : i);
        for (int d = 0; d < shape.dim_size(); ++d) {
          if (shape.dim(d) < 0) {
            ThrowError(ErrorPrefix(), "shape of top ", i, " has negative dimension ",
                       shape.dim(d));
          }
          shapes_[i].push_back(static_cast<int>(shape.dim(d)));
        }
      }
    }
    fillers_.assign(num_tops, caffe::FillerParameter());  // default: constant 0
    for (int i = 0; i < num_tops && p.data_filler_size() > 0; ++i) {
      fillers_[i] = p.data_filler(p.data_filler_size() == 1 ? 0 : i);
    }
    for (int i = 0; i < num_tops; ++i) {
      top[i]->Reshape(shapes_[i]);
      try {
        FillBlob(fillers_[i], top[i]);
      } catch (const Error& e) {
        ThrowError(ErrorPrefix(), "top ", i, ": ", e.what());
      }
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    for (size_t i = 0; i < top.size(); ++i) top[i]->Reshape(shapes_[i]);
  }

 protected:
  // Every Forward refills: random tops give a fresh batch each time, as a
  // real source would, and constant ones undo any in-place layer's writes.
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    for (size_t i = 0; i < top.size(); ++i) FillBlob(fillers_[i], top[i]);
  }

 private:
  std::vector<std::vector<int>> shapes_;
  std::vector<caffe::FillerParameter> fillers_;
};

}  // namespace

CORTADO_REGISTER_LAYER(DummyData, DummyDataLayer)

}  // namespace cortado
