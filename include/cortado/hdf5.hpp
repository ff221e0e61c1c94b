// HDF5 snapshots in BVLC Caffe's layout, so .h5 files move between the two:
//   model (.caffemodel.h5): float datasets data/<layer>/<i> (and, with
//     snapshot_diff, diff/<layer>/<i>), shaped like the parameter blobs;
//   state (.solverstate.h5): iter, learned_net (string), current_step and
//     history/<i>, plus Cortado's data_records_consumed when present.
// Writes go to <path>.tmp first, are fsynced and renamed over path.
#ifndef CORTADO_HDF5_HPP_
#define CORTADO_HDF5_HPP_

#include <string>
#include <utility>
#include <vector>

#include "caffe.pb.h"
#include "cortado/blob.hpp"

namespace cortado {

// True for paths ending in ".h5" (how snapshots and weights are told apart).
bool IsHdf5Path(const std::string& path);

// Writes the blobs of every layer of param (as Net::ToProto fills them).
void WriteNetParamToHdf5(const caffe::NetParameter& param, const std::string& path);
// Reads data/<layer>/<i> into layers that carry only name and blobs, which
// Net::CopyTrainedLayersFrom then matches by name.
void ReadNetParamFromHdf5(const std::string& path, caffe::NetParameter* param);

void WriteSolverStateToHdf5(const caffe::SolverState& state, const std::string& path);
void ReadSolverStateFromHdf5(const std::string& path, caffe::SolverState* state);

// Plain datasets, as the HDF5Data and HDF5Output layers use them.
// Reads the dataset `name` of the file at path (any numeric type, converted to
// float) into blob's shape and data; errors name the file and the dataset.
void ReadHdf5Dataset(const std::string& path, const std::string& name, caffe::BlobProto* blob);
// Writes each (name, blob) as a float dataset shaped like the blob, replacing
// path atomically.
void WriteHdf5Datasets(const std::vector<std::pair<std::string, const Blob*>>& datasets,
                       const std::string& path);

}  // namespace cortado

#endif  // CORTADO_HDF5_HPP_
