// Reading and writing protobuf files: text with file:line:column errors,
// binary with size checks, and atomic writes (temp file, fsync, rename).
#ifndef CORTADO_IO_HPP_
#define CORTADO_IO_HPP_

#include <string>

#include <google/protobuf/message.h>

#include "caffe.pb.h"

namespace cortado {

// All readers throw Error naming the path and what went wrong.
void ReadProtoFromTextFile(const std::string& path,
                           google::protobuf::Message* proto);
void ReadProtoFromTextString(const std::string& text, const std::string& origin,
                             google::protobuf::Message* proto);
void ReadProtoFromBinaryFile(const std::string& path,
                             google::protobuf::Message* proto);
// Writes to `path.tmp`, fsyncs, then renames over path: a crash mid-write
// never leaves a truncated file where the user's file was.
void WriteProtoToTextFile(const google::protobuf::Message& proto,
                          const std::string& path);
void WriteProtoToBinaryFile(const google::protobuf::Message& proto,
                            const std::string& path);
void WriteFileAtomically(const std::string& path, const std::string& bytes);
// The last half of an atomic write for files other libraries (HDF5) wrote to
// `temp`: fsyncs it, renames it over path, and fsyncs the directory.
void CommitFileAtomically(const std::string& temp, const std::string& path);

// Net/solver readers that also upgrade legacy formats.
void ReadNetParamsFromTextFile(const std::string& path,
                               caffe::NetParameter* param);
void ReadNetParamsFromBinaryFile(const std::string& path,
                                 caffe::NetParameter* param);
void ReadSolverParamsFromTextFile(const std::string& path,
                                  caffe::SolverParameter* param);

bool FileExists(const std::string& path);

}  // namespace cortado

#endif  // CORTADO_IO_HPP_
