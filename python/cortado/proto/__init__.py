"""The schema as Python classes: `cortado.proto.caffe_pb2`, generated at build time."""
