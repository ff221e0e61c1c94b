"""`caffe.proto.caffe_pb2` is Cortado's generated schema module."""
import sys as _sys

from cortado.proto import caffe_pb2

_sys.modules[__name__ + '.caffe_pb2'] = caffe_pb2
