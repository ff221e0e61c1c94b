"""The schema as Python classes: `cortado.proto.caffe_pb2`, generated at build time."""
from . import caffe_pb2  # noqa: F401 (so cortado.proto.caffe_pb2 works after import cortado)
