"""Cortado's Python API, call-compatible with pycaffe: `import cortado as caffe`."""
from ._cortado import (Blob, Error, TRAIN, TEST, layer_type_list, set_random_seed, load_plugin,
                       loaded_plugins, layer_origin, export_onnx)
from ._cortado import load_plugins_from_environment as _load_plugins_from_environment
from .pycaffe import (Net, Layer, get_solver, SGDSolver, NesterovSolver, AdaGradSolver,
                      RMSPropSolver, AdaDeltaSolver, AdamSolver, set_mode_cpu, set_mode_gpu,
                      set_device, init_log, solver_count, solver_rank, set_solver_count,
                      set_solver_rank, set_multiprocess, NCCL, Timer, log, has_nccl,
                      __version__)
from .classifier import Classifier
from .detector import Detector
from . import io
from .net_spec import layers, params, NetSpec, to_proto

# Plugin layers named in CORTADO_PLUGIN_PATH are there from the start, as in
# the `cortado` tool; more come with load_plugin(path).
_load_plugins_from_environment()
