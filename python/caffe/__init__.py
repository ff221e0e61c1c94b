"""pycaffe compatibility: `import caffe` is Cortado, so pycaffe scripts run unedited."""
import sys as _sys

import cortado as _cortado
from cortado import *  # noqa: F401,F403
from cortado import (Net, Layer, Blob, Error, TRAIN, TEST, get_solver, SGDSolver,
                     NesterovSolver, AdaGradSolver, RMSPropSolver, AdaDeltaSolver, AdamSolver,
                     set_mode_cpu, set_mode_gpu, set_device, set_random_seed, layer_type_list,
                     init_log, solver_count, solver_rank, set_solver_count, set_solver_rank,
                     set_multiprocess, NCCL, Timer, log, has_nccl, Classifier, Detector, io, layers,
                     params, NetSpec, to_proto, export_onnx, __version__, load_plugin)
from cortado import classifier, coord_map, detector, draw, net_spec, pycaffe  # noqa: F401

# `import caffe.io` and friends must find the very same module objects.
for _name in ('io', 'net_spec', 'draw', 'classifier', 'detector', 'pycaffe', 'coord_map'):
    _sys.modules[__name__ + '.' + _name] = getattr(_cortado, _name)
from . import proto  # noqa: E402,F401 (caffe.proto.caffe_pb2 without a separate import)
