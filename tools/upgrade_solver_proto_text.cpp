// upgrade_solver_proto_text: rewrites a legacy solver prototxt (solver_type enum) in the current format.
#include <cstdio>

#include <glog/logging.h>

#include "cortado/common.hpp"
#include "cortado/io.hpp"
#include "cortado/upgrade.hpp"

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  if (argc != 3) {
    std::fprintf(stderr, "Usage: upgrade_solver_proto_text IN.prototxt OUT.prototxt\n");
    return 1;
  }
  try {
    caffe::SolverParameter param;
    cortado::ReadProtoFromTextFile(argv[1], &param);
    if (!cortado::UpgradeSolverAsNeeded(argv[1], &param)) {
      LOG(INFO) << argv[1] << " is already in the current format; copying it unchanged";
    }
    cortado::WriteProtoToTextFile(param, argv[2]);
    LOG(INFO) << "Wrote upgraded solver to " << argv[2];
  } catch (const cortado::Error& e) {
    std::fprintf(stderr, "upgrade_solver_proto_text: %s\n", e.what());
    return 1;
  }
  return 0;
}
