"""The pycaffe surface of Net and Solver, written in Python over the _cortado types.

The extension exposes raw pieces (layer/blob name lists, index lists,
_forward/_backward over a layer range); this file turns them into pycaffe's
dictionaries and keyword-argument calls, and adds the mode functions.
"""
from collections import OrderedDict
import time
import warnings

import numpy as np

from . import _cortado
from ._cortado import Net, Solver

__version__ = '1.0.0-cortado'


# --- Net: dictionaries by name ------------------------------------------------

def _net_blobs(self):
    """Blobs by name, input to output."""
    return OrderedDict(zip(self._blob_names, self._blobs))


def _net_blob_loss_weights(self):
    return OrderedDict(zip(self._blob_names, self._blob_loss_weights))


def _net_layer_dict(self):
    return OrderedDict(zip(self._layer_names, self.layers))


def _net_params(self):
    """Parameter blobs by layer name, for layers that have any."""
    return OrderedDict((name, layer.blobs)
                       for name, layer in zip(self._layer_names, self.layers)
                       if len(layer.blobs) > 0)


def _net_inputs(self):
    return [self._blob_names[i] for i in self._inputs]


def _net_outputs(self):
    return [self._blob_names[i] for i in self._outputs]


def _names_by_layer(self, ids_of_layer):
    names = self._blob_names
    return OrderedDict((layer, [names[i] for i in ids_of_layer(index)])
                       for index, layer in enumerate(self._layer_names))


def _net_top_names(self):
    return _names_by_layer(self, self._top_ids)


def _net_bottom_names(self):
    return _names_by_layer(self, self._bottom_ids)


def _layer_index(self, name):
    names = list(self._layer_names)
    if name not in names:
        raise KeyError('no layer named %r in net %r' % (name, self.name))
    return names.index(name)


# --- Net: running it ------------------------------------------------------------

def _net_forward(self, blobs=None, start=None, end=None, **kwargs):
    """Runs layers start..end (names; default all) after copying keyword inputs
    into the input blobs. Returns {blob name: data view} for the outputs (or
    the tops of `end`) plus any names in `blobs`."""
    blobs = list(blobs or [])
    start_index = 0 if start is None else _layer_index(self, start)
    if end is None:
        end_index = len(self.layers) - 1
        outputs = set(self.outputs + blobs)
    else:
        end_index = _layer_index(self, end)
        outputs = set(self.top_names[end] + blobs)
    if kwargs:
        if set(kwargs) != set(self.inputs):
            raise ValueError('forward() inputs %s do not match the net inputs %s'
                             % (sorted(kwargs), self.inputs))
        net_blobs = self.blobs
        for name, array in kwargs.items():
            if array.shape[0] != net_blobs[name].shape[0]:
                raise ValueError('input %r has %d items but the batch size is %d'
                                 % (name, array.shape[0], net_blobs[name].shape[0]))
            net_blobs[name].data[...] = array
    self._forward(start_index, end_index)
    net_blobs = self.blobs
    return {name: net_blobs[name].data for name in outputs}


def _net_backward(self, diffs=None, start=None, end=None, **kwargs):
    """Back-propagates from layer `start` down to `end` (default: all), after
    copying keyword top gradients into the output blobs' diffs. Returns
    {blob name: diff view} for the inputs (or the bottoms of `end`) plus `diffs`."""
    diffs = list(diffs or [])
    start_index = len(self.layers) - 1 if start is None else _layer_index(self, start)
    if end is None:
        end_index = 0
        outputs = set(self.inputs + diffs)
    else:
        end_index = _layer_index(self, end)
        outputs = set(self.bottom_names[end] + diffs)
    if kwargs:
        if set(kwargs) != set(self.outputs):
            raise ValueError('backward() top diffs %s do not match the net outputs %s'
                             % (sorted(kwargs), self.outputs))
        net_blobs = self.blobs
        for name, diff in kwargs.items():
            if diff.shape[0] != net_blobs[name].shape[0]:
                raise ValueError('diff %r has %d items but the batch size is %d'
                                 % (name, diff.shape[0], net_blobs[name].shape[0]))
            net_blobs[name].diff[...] = diff
    self._backward(start_index, end_index)
    net_blobs = self.blobs
    return {name: net_blobs[name].diff for name in outputs}


def _net_batch(self, inputs):
    """Splits {input: array of N items} into batch-sized dicts; the last one
    is padded with zeros."""
    first = next(iter(inputs))
    total = len(inputs[first])
    batch_size = self.blobs[first].shape[0]
    for start in range(0, total, batch_size):
        batch = {}
        for name, array in inputs.items():
            chunk = array[start:start + batch_size]
            if len(chunk) < batch_size:
                pad = np.zeros((batch_size - len(chunk),) + chunk.shape[1:], dtype=chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            batch[name] = chunk
        yield batch


def _net_forward_all(self, blobs=None, **kwargs):
    """forward() over any number of items, batch by batch; returns whole
    arrays (copies) for the outputs and `blobs`."""
    outputs = {name: [] for name in set(self.outputs + list(blobs or []))}
    if not kwargs:
        raise ValueError('forward_all() needs the inputs as keyword arrays')
    total = len(next(iter(kwargs.values())))
    for batch in _net_batch(self, kwargs):
        result = self.forward(blobs=blobs, **batch)
        for name in outputs:
            outputs[name].append(result[name].copy())
    return {name: np.concatenate(parts)[:total] for name, parts in outputs.items()}


def _net_forward_backward_all(self, blobs=None, diffs=None, **kwargs):
    """forward() then backward() per batch; kwargs hold inputs and top diffs."""
    inputs = {k: v for k, v in kwargs.items() if k in self.inputs}
    top_diffs = {k: v for k, v in kwargs.items() if k in self.outputs}
    forward_out = {name: [] for name in set(self.outputs + list(blobs or []))}
    backward_out = {name: [] for name in set(self.inputs + list(diffs or []))}
    total = len(next(iter(inputs.values())))
    batches = zip(_net_batch(self, inputs),
                  _net_batch(self, top_diffs) if top_diffs else iter(lambda: {}, None))
    for in_batch, diff_batch in batches:
        forward = self.forward(blobs=blobs, **in_batch)
        backward = self.backward(diffs=diffs, **diff_batch)
        for name in forward_out:
            forward_out[name].append(forward[name].copy())
        for name in backward_out:
            backward_out[name].append(backward[name].copy())
    join = lambda parts: {n: np.concatenate(p)[:total] for n, p in parts.items()}
    return join(forward_out), join(backward_out)


def _net_set_input_arrays(self, data, labels):
    """Feeds the net's (first) MemoryData layer: `data` float32, C-contiguous,
    N x channels x height x width; `labels` float32, N or N x 1 x 1 x 1; N a
    multiple of the batch size. Forward passes then take batch after batch,
    wrapping around. The arrays are read at every forward, not copied here,
    so the net keeps them."""
    layer_id = next((i for i, layer in enumerate(self.layers) if layer.type == 'MemoryData'), None)
    if layer_id is None:
        raise ValueError('set_input_arrays: net %r has no MemoryData layer' % self.name)
    name = self._layer_names[layer_id]
    shape = self.blobs[self.top_names[name][0]].shape
    for what, array in (('data', data), ('labels', labels)):
        if not isinstance(array, np.ndarray):
            raise ValueError('set_input_arrays: %s must be a NumPy array, got %s'
                             % (what, type(array).__name__))
        if array.dtype != np.float32:
            raise ValueError('set_input_arrays: %s must be float32, got %s' % (what, array.dtype))
        if not array.flags['C_CONTIGUOUS']:
            raise ValueError('set_input_arrays: %s must be C-contiguous '
                             '(np.ascontiguousarray makes it so)' % what)
    if data.ndim != 4:
        raise ValueError('set_input_arrays: data must be 4-d (N, channels, height, width), '
                         'got shape %s' % (data.shape,))
    if data.shape[1:] != tuple(shape[1:]):
        raise ValueError('set_input_arrays: layer %r takes items of shape %s, data has %s'
                         % (name, tuple(shape[1:]), data.shape[1:]))
    if labels.ndim == 1:
        labels = labels.reshape(-1, 1, 1, 1)
    if labels.ndim != 4 or labels.shape[1:] != (1, 1, 1):
        raise ValueError('set_input_arrays: labels must be 1-d (N,) or (N, 1, 1, 1), got shape %s'
                         % (labels.shape,))
    if labels.shape[0] != data.shape[0]:
        raise ValueError('set_input_arrays: data has %d items but labels has %d'
                         % (data.shape[0], labels.shape[0]))
    if data.shape[0] == 0 or data.shape[0] % shape[0] != 0:
        raise ValueError('set_input_arrays: the number of items (%d) must be a positive '
                         'multiple of layer %r\'s batch size %d' % (data.shape[0], name, shape[0]))
    self._set_input_arrays(layer_id, data, labels)
    self._input_arrays = (data, labels)  # the layer reads them at every forward


Net.blobs = property(_net_blobs)
Net.blob_loss_weights = property(_net_blob_loss_weights)
Net.layer_dict = property(_net_layer_dict)
Net.params = property(_net_params)
Net.inputs = property(_net_inputs)
Net.outputs = property(_net_outputs)
Net.top_names = property(_net_top_names)
Net.bottom_names = property(_net_bottom_names)
Net.forward = _net_forward
Net.backward = _net_backward
Net.forward_all = _net_forward_all
Net.forward_backward_all = _net_forward_backward_all
Net.set_input_arrays = _net_set_input_arrays


# --- Layers written in Python -------------------------------------------------

class Layer(object):
    """Base class of `type: "Python"` layers. Cortado sets `param_str`,
    `phase` and `blobs` before calling setup(); override the four methods.
    Learnable parameters are made in setup() with self.blobs.add_blob(*shape)
    and read as self.blobs[i].data / .diff; the net saves, loads and trains
    them like any layer's (lr_mult and decay_mult from the layer's `param`)."""
    param_str = ''
    phase = _cortado.TRAIN

    def setup(self, bottom, top):
        pass

    def reshape(self, bottom, top):
        pass

    def forward(self, bottom, top):
        raise NotImplementedError('%s.forward' % type(self).__name__)

    def backward(self, top, propagate_down, bottom):
        pass


class _LayerBlobs(object):
    """A Python layer's `self.blobs`: its parameter blobs, which live in the
    C++ layer. Made by the Python layer type with three callables."""

    def __init__(self, count, get, add):
        self._count, self._get, self._add = count, get, add

    def _detach(self):
        self._count = self._get = self._add = None

    def _check(self):
        if self._count is None:
            raise RuntimeError('this Python layer\'s net is gone; its blobs with it')

    def __len__(self):
        self._check()
        return self._count()

    def __getitem__(self, index):
        self._check()
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError('blob index %d out of range (%d parameter blobs)' % (index, size))
        return self._get(index)

    def __iter__(self):
        return iter(self[:])

    def add_blob(self, *shape):
        """Appends a zero-filled parameter blob of this shape (setup() only)."""
        self._check()
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return self._add([int(d) for d in shape])


# --- Solvers ------------------------------------------------------------------

def get_solver(filename):
    """The solver the file's `type` names (SGD when it names none)."""
    return Solver(filename)


def _solver_of_type(type_name):
    # Classes, as in pycaffe, so isinstance(solver, caffe.SGDSolver) holds.
    def __init__(self, filename):
        Solver.__init__(self, filename, type_name)
    return type(type_name + 'Solver', (Solver,), {
        '__init__': __init__,
        '__doc__': 'A %s solver from a solver prototxt, whatever its `type` says.' % type_name})


SGDSolver = _solver_of_type('SGD')
NesterovSolver = _solver_of_type('Nesterov')
AdaGradSolver = _solver_of_type('AdaGrad')
RMSPropSolver = _solver_of_type('RMSProp')
AdaDeltaSolver = _solver_of_type('AdaDelta')
AdamSolver = _solver_of_type('Adam')


# --- Mode and devices ----------------------------------------------------------

_device = 0
_gpu_mode = False


def set_mode_cpu():
    """Nets and solvers made from now on run on the CPU."""
    global _gpu_mode
    _gpu_mode = False
    _cortado.set_default_device(-1)


def set_mode_gpu():
    """Nets and solvers made from now on run on the GPU chosen by set_device()
    (0 by default). Without a usable GPU this warns and stays on the CPU, so a
    pycaffe script written for a GPU still runs."""
    global _gpu_mode
    if _cortado.cuda_device_count() == 0:
        warnings.warn('set_mode_gpu(): no usable GPU (%s); nets run on the CPU'
                      % _cortado.cuda_unavailable_reason(), RuntimeWarning, stacklevel=2)
        return
    _cortado.set_default_device(_device)
    _gpu_mode = True


def set_device(device_id):
    global _device
    devices = _cortado.cuda_device_count()
    if device_id < 0 or (devices and device_id >= devices):
        raise ValueError('set_device(%d): %d CUDA device(s) available' % (device_id, devices))
    _device = device_id
    if _gpu_mode:
        _cortado.set_default_device(_device)


def init_log(level=0, stderr=False):
    """Kept for pycaffe scripts; Cortado logs through glog to stderr already."""


log = _cortado.log  # one INFO line in Cortado's log


def has_nccl():
    """Whether this build can reduce gradients over GPUs with NCCL."""
    return bool(_cortado.nccl_built())


class Timer(object):
    """pycaffe's Timer: start(), stop(), and the elapsed time in `ms`."""

    def __init__(self):
        self._start = None
        self._elapsed = 0.0

    def start(self):
        self._start = time.perf_counter()

    def stop(self):
        if self._start is not None:
            self._elapsed = time.perf_counter() - self._start
            self._start = None

    @property
    def ms(self):
        """Milliseconds from the last start() to its stop() (or to now, if running)."""
        if self._start is not None:
            return (time.perf_counter() - self._start) * 1000.0
        return self._elapsed * 1000.0


# --- Data-parallel training ------------------------------------------------------
#
# Two ways, as in pycaffe and beyond it:
# - under mpirun, every solver a script makes is a replica over all the ranks
#   (MPI): nothing to call; solver_count() and solver_rank() report the job;
# - pycaffe's multi-GPU recipe: one process per GPU (multiprocessing), each
#   calling set_solver_count(n), set_solver_rank(i), set_multiprocess(True),
#   then NCCL(solver, uid) with a uid from NCCL.new_uid() made by the parent.

_solver_count = 1
_solver_rank = 0
_multiprocess = False


def set_solver_count(count):
    """How many replicas train together (pycaffe's multi-GPU scripts)."""
    global _solver_count
    if int(count) < 1:
        raise ValueError('set_solver_count(%r): the count must be at least 1' % (count,))
    _solver_count = int(count)


def set_solver_rank(rank):
    """This process's replica index, 0 to solver_count() - 1."""
    global _solver_rank
    if int(rank) < 0:
        raise ValueError('set_solver_rank(%r): the rank must not be negative' % (rank,))
    _solver_rank = int(rank)


def set_multiprocess(multiprocess):
    """pycaffe's flag for one process per GPU; kept for scripts that set it."""
    global _multiprocess
    _multiprocess = bool(multiprocess)


def solver_count():
    """Replicas training together: mpirun's rank count, else set_solver_count()'s."""
    size = _cortado.mpi_size()
    return size if size > 1 else _solver_count


def solver_rank():
    """This replica's index: the MPI rank under mpirun, else set_solver_rank()'s."""
    return _cortado.mpi_rank() if _cortado.mpi_size() > 1 else _solver_rank


class NCCL(object):
    """pycaffe's NCCL: makes `solver` average its gradients with the other
    solver_count() - 1 processes that joined the same `uid`, on this
    process's GPU (set_device). Needs a CUDA build and a GPU."""

    def __init__(self, solver, uid):
        if solver_count() > 1 and _cortado.mpi_size() > 1:
            raise RuntimeError('NCCL(): under mpirun solvers are already replicas over MPI')
        if not _gpu_mode:
            raise RuntimeError('NCCL() reduces on GPUs: call set_mode_gpu() first '
                               '(%s)' % (_cortado.cuda_unavailable_reason() or 'GPU mode is off'))
        self._replica = _cortado._NcclReplica(uid, _solver_rank, _solver_count, _device)
        self._solver = solver
        solver._set_replica(self._replica)

    @staticmethod
    def new_uid():
        """An id for one group of replicas: made once, passed to every process."""
        return _cortado._NcclReplica.new_uid()

    def bcast(self):
        """Root's weights go to every replica; the solver does this before its
        first step anyway, so calling it is optional."""

    def on_start(self):
        pass

    def on_gradients_ready(self):
        pass


def _solver_add_callback(self, on_start, on_gradients=None):
    """pycaffe's add_callback: add_callback(on_start, on_gradients) calls
    on_start() at the start of every iteration, before the forward pass, and
    on_gradients() once the gradients are ready, before the update; either
    may be None. add_callback(nccl) with an NCCL object (pycaffe's multi-GPU
    scripts) needs nothing more: the solver already averages its gradients
    over the replicas."""
    if isinstance(on_start, NCCL) and on_gradients is None:
        return
    if hasattr(on_start, 'on_start') and hasattr(on_start, 'on_gradients_ready') \
            and on_gradients is None:
        # An object with pycaffe's callback methods.
        on_start, on_gradients = on_start.on_start, on_start.on_gradients_ready
    self._add_callback(on_start, on_gradients)


def _solver_share_weights(self, net):
    """pycaffe's share_weights: `net` (a test net, say) uses this solver's
    trained parameters from now on."""
    net.share_with(self.net)


class _SolverParam(object):
    """solver.param: the solver's settings (read from a caffe_pb2.SolverParameter
    copy); as in pycaffe, base_lr can also be set, and applies from the next step."""

    def __init__(self, solver):
        from .proto import caffe_pb2
        proto = caffe_pb2.SolverParameter()
        proto.ParseFromString(solver._param_bytes)
        object.__setattr__(self, '_solver', solver)
        object.__setattr__(self, '_proto', proto)

    def __getattr__(self, name):
        return getattr(self._proto, name)

    def __setattr__(self, name, value):
        if name != 'base_lr':
            raise AttributeError('solver.param.%s is read-only; only base_lr can be set' % name)
        self._solver._set_base_lr(float(value))
        self._proto.base_lr = float(value)

    def __repr__(self):
        return str(self._proto)


def _solver_param(self):
    return _SolverParam(self)


Solver.add_callback = _solver_add_callback
Solver.param = property(_solver_param)
Solver.max_iter = property(lambda self: self.param.max_iter)
Solver.share_weights = _solver_share_weights
