"""Cortado's Python API, call-compatible with pycaffe: `import cortado as caffe`."""
from ._cortado import (Blob, Error, TRAIN, TEST, layer_type_list, set_random_seed,
                       export_onnx)
from .pycaffe import (Net, Layer, get_solver, SGDSolver, NesterovSolver, AdaGradSolver,
                      RMSPropSolver, AdaDeltaSolver, AdamSolver, set_mode_cpu, set_mode_gpu,
                      set_device, init_log, solver_count, solver_rank, set_solver_count,
                      set_solver_rank, set_multiprocess, NCCL, __version__)
from .classifier import Classifier
from .detector import Detector
from . import io
from .net_spec import layers, params, NetSpec, to_proto
