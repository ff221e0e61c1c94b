// upgrade_net_proto_binary: rewrites a legacy (V0/V1) binary net (caffemodel) in the current format.
#include <cstdio>

#include <glog/logging.h>

#include "cortado/common.hpp"
#include "cortado/io.hpp"
#include "cortado/upgrade.hpp"

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  if (argc != 3) {
    std::fprintf(stderr, "Usage: upgrade_net_proto_binary IN.caffemodel OUT.caffemodel\n");
    return 1;
  }
  try {
    caffe::NetParameter param;
    cortado::ReadProtoFromBinaryFile(argv[1], &param);
    if (!cortado::UpgradeNetAsNeeded(argv[1], &param)) {
      LOG(INFO) << argv[1] << " is already in the current format; copying it unchanged";
    }
    cortado::WriteProtoToBinaryFile(param, argv[2]);
    LOG(INFO) << "Wrote upgraded net to " << argv[2];
  } catch (const cortado::Error& e) {
    std::fprintf(stderr, "upgrade_net_proto_binary: %s\n", e.what());
    return 1;
  }
  return 0;
}
