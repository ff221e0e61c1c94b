// HDF5 model and solver-state files in BVLC Caffe's dataset layout, written
// through the plain HDF5 C API.
#include "cortado/hdf5.hpp"

#include <hdf5.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cortado/blob.hpp"
#include "cortado/common.hpp"
#include "cortado/io.hpp"

namespace cortado {
namespace {

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its own error stack by default; we report errors ourselves.
void SilenceHdf5() {
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

bool HasLink(hid_t loc, const std::string& name) {
  return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0;
}

Handle CreateGroup(hid_t loc, const std::string& name, const std::string& path) {
  Handle group(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!group.ok()) ThrowError(path, ": cannot create HDF5 group '", name, "'");
  return group;
}

void WriteDataset(hid_t loc, const std::string& name, const std::vector<hsize_t>& dims,
                  hid_t file_type, hid_t memory_type, const void* data,
                  const std::string& path) {
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle dataset(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT),
                 H5Dclose);
  if (!space.ok() || !dataset.ok() ||
      H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    ThrowError(path, ": cannot write HDF5 dataset '", name, "'");
  }
}

void WriteBlob(hid_t loc, const std::string& name, const caffe::BlobProto& blob,
               bool diff, const std::string& path) {
  std::vector<hsize_t> dims;
  for (int d : Blob::ProtoShape(blob)) dims.push_back(static_cast<hsize_t>(d));
  const auto& values = diff ? blob.diff() : blob.data();
  std::vector<float> copy;
  const float* data = values.data();
  if (values.empty() && blob.double_data_size() > 0 && !diff) {
    copy.assign(blob.double_data().begin(), blob.double_data().end());
    data = copy.data();
  }
  WriteDataset(loc, name, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data, path);
}

void WriteInt(hid_t loc, const std::string& name, int value, const std::string& path) {
  WriteDataset(loc, name, {1}, H5T_STD_I32LE, H5T_NATIVE_INT, &value, path);
}

void WriteString(hid_t loc, const std::string& name, const std::string& value,
                 const std::string& path) {
  // A scalar fixed-length string with its terminator, as H5LT writes them.
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), value.size() + 1);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle dataset(H5Dcreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                            H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
  if (!dataset.ok() ||
      H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, value.c_str()) < 0) {
    ThrowError(path, ": cannot write HDF5 string '", name, "'");
  }
}

Handle OpenDataset(hid_t loc, const std::string& name, const std::string& path) {
  if (!HasLink(loc, name)) ThrowError(path, ": HDF5 dataset '", name, "' is missing");
  Handle dataset(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.ok()) ThrowError(path, ": cannot open HDF5 dataset '", name, "'");
  return dataset;
}

// Reads a float dataset of any rank into blob (shape and data).
void ReadBlob(hid_t loc, const std::string& name, caffe::BlobProto* blob,
              const std::string& path) {
  Handle dataset = OpenDataset(loc, name, path);
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) ThrowError(path, ": HDF5 dataset '", name, "' has no simple shape");
  std::vector<hsize_t> dims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  int64_t count = 1;
  for (hsize_t d : dims) {
    blob->mutable_shape()->add_dim(static_cast<int64_t>(d));
    count *= static_cast<int64_t>(d);
  }
  std::vector<float> values(count);
  if (count > 0 && H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           values.data()) < 0) {
    ThrowError(path, ": cannot read HDF5 dataset '", name, "' as float");
  }
  blob->mutable_data()->Add(values.begin(), values.end());
}

int ReadInt(hid_t loc, const std::string& name, const std::string& path) {
  Handle dataset = OpenDataset(loc, name, path);
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) {
    ThrowError(path, ": HDF5 dataset '", name, "' should hold one integer");
  }
  int value = 0;
  if (H5Dread(dataset.get(), H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0) {
    ThrowError(path, ": cannot read HDF5 dataset '", name, "' as an integer");
  }
  return value;
}

std::string ReadString(hid_t loc, const std::string& name, const std::string& path) {
  Handle dataset = OpenDataset(loc, name, path);
  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) {
    ThrowError(path, ": HDF5 dataset '", name, "' is not a string");
  }
  if (H5Tis_variable_str(type.get()) > 0) {
    char* text = nullptr;
    Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    if (H5Dread(dataset.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0) {
      ThrowError(path, ": cannot read HDF5 string '", name, "'");
    }
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::vector<char> buffer(H5Tget_size(type.get()) + 1, '\0');
  if (H5Dread(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()) < 0) {
    ThrowError(path, ": cannot read HDF5 string '", name, "'");
  }
  return std::string(buffer.data());
}

// Number of links (datasets or groups) directly inside a group.
int LinkCount(hid_t group) {
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) return 0;
  return static_cast<int>(info.nlinks);
}

Handle CreateTempFile(const std::string& temp) {
  SilenceHdf5();
  Handle file(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) ThrowError("cannot create HDF5 file '", temp, "'");
  return file;
}

Handle OpenForReading(const std::string& path, const char* what) {
  SilenceHdf5();
  if (!FileExists(path)) ThrowError("cannot open ", what, " '", path, "': no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    ThrowError("'", path, "' is not an HDF5 file (corrupt, truncated or another format)");
  }
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.ok()) ThrowError("cannot open ", what, " '", path, "'");
  return file;
}

// Runs write(file) on <path>.tmp and then moves it into place; the temp file
// is removed if anything fails.
template <typename WriteFn>
void WriteHdf5Atomically(const std::string& path, WriteFn write) {
  const std::string temp = path + ".tmp";
  try {
    {
      Handle file = CreateTempFile(temp);
      write(file.get(), temp);
      if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) ThrowError("cannot flush '", temp, "'");
    }
    CommitFileAtomically(temp, path);
  } catch (...) {
    std::remove(temp.c_str());
    throw;
  }
}

}  // namespace

bool IsHdf5Path(const std::string& path) {
  return path.size() >= 3 && path.compare(path.size() - 3, 3, ".h5") == 0;
}

void WriteNetParamToHdf5(const caffe::NetParameter& param, const std::string& path) {
  bool any_diff = false;
  for (const auto& layer : param.layer()) {
    for (const auto& blob : layer.blobs()) any_diff |= blob.diff_size() > 0;
  }
  WriteHdf5Atomically(path, [&](hid_t file, const std::string& temp) {
    Handle data = CreateGroup(file, "data", temp);
    std::unique_ptr<Handle> diff;
    if (any_diff) diff = std::make_unique<Handle>(CreateGroup(file, "diff", temp));
    for (const auto& layer : param.layer()) {
      if (HasLink(data.get(), layer.name())) {
        ThrowError(path, ": two layers are named '", layer.name(), "'");
      }
      Handle data_layer = CreateGroup(data.get(), layer.name(), temp);
      for (int i = 0; i < layer.blobs_size(); ++i) {
        WriteBlob(data_layer.get(), std::to_string(i), layer.blobs(i), false, temp);
      }
      if (!diff) continue;
      Handle diff_layer = CreateGroup(diff->get(), layer.name(), temp);
      for (int i = 0; i < layer.blobs_size(); ++i) {
        if (layer.blobs(i).diff_size() > 0) {
          WriteBlob(diff_layer.get(), std::to_string(i), layer.blobs(i), true, temp);
        }
      }
    }
  });
}

void ReadNetParamFromHdf5(const std::string& path, caffe::NetParameter* param) {
  Handle file = OpenForReading(path, "HDF5 weights");
  if (!HasLink(file.get(), "data")) ThrowError(path, ": no 'data' group (not a Caffe model)");
  Handle data(H5Gopen2(file.get(), "data", H5P_DEFAULT), H5Gclose);
  const int layers = LinkCount(data.get());
  for (int i = 0; i < layers; ++i) {
    const ssize_t size = H5Lget_name_by_idx(data.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i,
                                            nullptr, 0, H5P_DEFAULT);
    std::string name(static_cast<size_t>(size), '\0');
    H5Lget_name_by_idx(data.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), size + 1,
                       H5P_DEFAULT);
    Handle group(H5Gopen2(data.get(), name.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.ok()) ThrowError(path, ": data/", name, " is not a group");
    caffe::LayerParameter* layer = param->add_layer();
    layer->set_name(name);
    const int blobs = LinkCount(group.get());
    for (int j = 0; j < blobs; ++j) {
      ReadBlob(group.get(), std::to_string(j), layer->add_blobs(),
               StrCat(path, " (data/", name, ")"));
    }
  }
}

void WriteSolverStateToHdf5(const caffe::SolverState& state, const std::string& path) {
  WriteHdf5Atomically(path, [&](hid_t file, const std::string& temp) {
    WriteInt(file, "iter", state.iter(), temp);
    if (state.has_learned_net()) WriteString(file, "learned_net", state.learned_net(), temp);
    WriteInt(file, "current_step", state.current_step(), temp);
    Handle history = CreateGroup(file, "history", temp);
    for (int i = 0; i < state.history_size(); ++i) {
      WriteBlob(history.get(), std::to_string(i), state.history(i), false, temp);
    }
    if (state.data_records_consumed_size() > 0) {
      const std::vector<int64_t> consumed(state.data_records_consumed().begin(),
                                          state.data_records_consumed().end());
      WriteDataset(file, "data_records_consumed", {consumed.size()}, H5T_STD_I64LE,
                   H5T_NATIVE_INT64, consumed.data(), temp);
    }
  });
}

void ReadSolverStateFromHdf5(const std::string& path, caffe::SolverState* state) {
  Handle file = OpenForReading(path, "HDF5 solver state");
  state->set_iter(ReadInt(file.get(), "iter", path));
  if (HasLink(file.get(), "learned_net")) {
    state->set_learned_net(ReadString(file.get(), "learned_net", path));
  }
  state->set_current_step(ReadInt(file.get(), "current_step", path));
  if (!HasLink(file.get(), "history")) ThrowError(path, ": no 'history' group");
  Handle history(H5Gopen2(file.get(), "history", H5P_DEFAULT), H5Gclose);
  const int count = LinkCount(history.get());
  for (int i = 0; i < count; ++i) {
    ReadBlob(history.get(), std::to_string(i), state->add_history(), path + " (history)");
  }
  if (HasLink(file.get(), "data_records_consumed")) {
    Handle dataset = OpenDataset(file.get(), "data_records_consumed", path);
    Handle space(H5Dget_space(dataset.get()), H5Sclose);
    std::vector<int64_t> consumed(H5Sget_simple_extent_npoints(space.get()));
    if (!consumed.empty() && H5Dread(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                                     H5P_DEFAULT, consumed.data()) < 0) {
      ThrowError(path, ": cannot read data_records_consumed");
    }
    for (int64_t n : consumed) state->add_data_records_consumed(n);
  }
}

void ReadHdf5Dataset(const std::string& path, const std::string& name, caffe::BlobProto* blob) {
  Handle file = OpenForReading(path, "HDF5 data");
  ReadBlob(file.get(), name, blob, path);
}

void WriteHdf5Datasets(const std::vector<std::pair<std::string, const Blob*>>& datasets,
                       const std::string& path) {
  WriteHdf5Atomically(path, [&](hid_t file, const std::string& temp) {
    for (const auto& [name, blob] : datasets) {
      std::vector<hsize_t> dims(blob->shape().begin(), blob->shape().end());
      WriteDataset(file, name, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, blob->cpu_data(), temp);
    }
  });
}

}  // namespace cortado
