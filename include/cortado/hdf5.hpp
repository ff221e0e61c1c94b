// HDF5 snapshots in BVLC Caffe's layout, so .h5 files move between the two:
//   model (.caffemodel.h5): float datasets data/<layer>/<i> (and, with
//     snapshot_diff, diff/<layer>/<i>), shaped like the parameter blobs;
//   state (.solverstate.h5): iter, learned_net (string), current_step and
//     history/<i>, plus Cortado's data_records_consumed when present.
// Writes go to <path>.tmp first, are fsynced and renamed over path.
#ifndef CORTADO_HDF5_HPP_
#define CORTADO_HDF5_HPP_

#include <string>

#include "caffe.pb.h"

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

}  // namespace cortado

#endif  // CORTADO_HDF5_HPP_
