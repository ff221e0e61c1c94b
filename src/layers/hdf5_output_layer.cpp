// HDF5Output: writes its two bottoms to hdf5_output_param.file_name as the
// float datasets "data" and "label". Each Forward rewrites the file with the
// current batch (BVLC Caffe could write only one batch per file).
#include <string>

#include "cortado/hdf5.hpp"
#include "cortado/layer.hpp"
#include "cortado/layer_registry.hpp"

namespace cortado {
namespace {

class Hdf5OutputLayer : public Layer {
 public:
  using Layer::Layer;

  const char* type() const override { return "HDF5Output"; }
  int ExactNumBottomBlobs() const override { return 2; }
  int ExactNumTopBlobs() const override { return 0; }

  void LayerSetUp(const BlobVec& bottom, const BlobVec& top) override {
    file_name_ = layer_param_.hdf5_output_param().file_name();
    if (file_name_.empty()) {
      ThrowError(ErrorPrefix(), "hdf5_output_param.file_name is empty");
    }
  }

  void Reshape(const BlobVec& bottom, const BlobVec& top) override {
    if (bottom[0]->num_axes() == 0 || bottom[1]->num_axes() == 0 ||
        bottom[0]->shape(0) != bottom[1]->shape(0)) {
      ThrowError(ErrorPrefix(), "data ", bottom[0]->shape_string(), " and label ",
                 bottom[1]->shape_string(), " need the same number of records");
    }
  }

 protected:
  void ForwardImpl(const BlobVec& bottom, const BlobVec& top) override {
    try {
      WriteHdf5Datasets({{"data", bottom[0]}, {"label", bottom[1]}}, file_name_);
    } catch (const Error& e) {
      ThrowError(ErrorPrefix(), e.what());
    }
  }

 private:
  std::string file_name_;
};

}  // namespace

CORTADO_REGISTER_LAYER(HDF5Output, Hdf5OutputLayer)

}  // namespace cortado
