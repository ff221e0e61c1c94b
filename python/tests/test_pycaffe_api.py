"""The rest of pycaffe's surface: its public names, MemoryData's
set_input_arrays, HDF5 weights, blob_loss_weights and the private name lists
scripts use, layer.reshape, solver callbacks and apply_update, Timer."""
import numpy as np
import pytest

import caffe
from conftest import TRAIN_NET, write

# pycaffe's public names, module by module, as its documentation and
# examples use them. Each one must exist in Cortado's `caffe` package.
PYCAFFE_NAMES = {
    'caffe': [
        'Net', 'SGDSolver', 'NesterovSolver', 'AdaGradSolver', 'RMSPropSolver',
        'AdaDeltaSolver', 'AdamSolver', 'NCCL', 'Timer', 'init_log', 'log', 'set_mode_cpu',
        'set_mode_gpu', 'set_device', 'Layer', 'get_solver', 'layer_type_list',
        'set_random_seed', 'solver_count', 'set_solver_count', 'solver_rank', 'set_solver_rank',
        'set_multiprocess', 'has_nccl', '__version__', 'TRAIN', 'TEST', 'Classifier', 'Detector',
        'io', 'layers', 'params', 'NetSpec', 'to_proto', 'draw', 'net_spec', 'proto',
        'classifier', 'detector', 'pycaffe', 'coord_map'],
    'caffe.Net': [
        '_forward', '_backward', 'reshape', 'clear_param_diffs', 'copy_from', 'share_with',
        '_blob_loss_weights', '_bottom_ids', '_top_ids', '_blobs', 'layers', '_blob_names',
        '_layer_names', '_inputs', '_outputs', '_set_input_arrays', 'save', 'save_hdf5',
        'load_hdf5', 'before_forward', 'after_forward', 'before_backward', 'after_backward', 'blobs', 'blob_loss_weights', 'layer_dict', 'params', 'forward',
        'backward', 'forward_all', 'forward_backward_all', 'set_input_arrays', 'inputs',
        'outputs', 'top_names', 'bottom_names'],
    'caffe.Blob': ['shape', 'num', 'channels', 'height', 'width', 'count', 'reshape', 'data',
                   'diff'],
    'caffe.pycaffe.Solver': [
        'net', 'max_iter', 'test_nets', 'iter', 'add_callback', 'solve', 'step', 'restore',
        'snapshot', 'share_weights', 'apply_update', 'param'],
    'caffe.NCCL': ['new_uid', 'bcast'],
    'caffe.Timer': ['start', 'stop', 'ms'],
    'caffe.io': [
        'blobproto_to_array', 'array_to_blobproto', 'arraylist_to_blobprotovector_str',
        'blobprotovector_str_to_arraylist', 'array_to_datum', 'datum_to_array', 'Transformer',
        'load_image', 'resize_image', 'oversample'],
    'caffe.io.Transformer': ['preprocess', 'deprocess', 'set_transpose', 'set_channel_swap',
                             'set_raw_scale', 'set_mean', 'set_input_scale'],
    'caffe.net_spec': ['param_name_dict', 'to_proto', 'assign_proto', 'Top', 'Function',
                       'NetSpec', 'Layers', 'Parameters', 'layers', 'params'],
    'caffe.draw': ['get_pooling_types_dict', 'get_edge_label', 'get_layer_label',
                   'choose_color_by_layertype', 'draw_net', 'draw_net_to_file'],
    'caffe.coord_map': ['coord_map_from_to', 'crop', 'conv_params', 'crop_params', 'compose',
                        'inverse', 'coord_map', 'AxisMismatchException',
                        'UndefinedMapException'],
    'caffe.Classifier': ['predict'],
    'caffe.Detector': ['detect_windows', 'detect_selective_search', 'crop', 'configure_crop'],
}


def resolve(dotted):
    parts = dotted.split('.')
    obj = caffe
    for part in parts[1:]:
        obj = getattr(obj, part)
    return obj


def test_pycaffe_public_names_exist():
    missing = ['%s.%s' % (owner, name) for owner, names in sorted(PYCAFFE_NAMES.items())
               for name in names if not hasattr(resolve(owner), name)]
    assert missing == []


def test_layer_type_list_names_the_registered_types():
    types = caffe.layer_type_list()
    assert types == sorted(types) and len(set(types)) == len(types)
    for expected in ('Convolution', 'InnerProduct', 'MemoryData', 'Python', 'SoftmaxWithLoss'):
        assert expected in types


# --- MemoryData and set_input_arrays -------------------------------------------

MEMORY_NET = """
name: "memory"
layer { name: "data" type: "MemoryData" top: "data" top: "label"
        memory_data_param { batch_size: 2 channels: 1 height: 2 width: 3 } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
        inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
"""


@pytest.fixture
def memory_net(tmp_path):
    return caffe.Net(write(tmp_path / 'memory.prototxt', MEMORY_NET), caffe.TEST)


def test_set_input_arrays_feeds_batches_in_order_and_wraps(memory_net):
    data = np.arange(6 * 6, dtype=np.float32).reshape(6, 1, 2, 3)
    labels = np.array([0, 1, 1, 0, 1, 0], dtype=np.float32)
    memory_net.set_input_arrays(data, labels)
    for batch in (0, 1, 2, 0):  # three batches of 2, then around again
        memory_net.forward()
        np.testing.assert_array_equal(memory_net.blobs['data'].data, data[2 * batch:2 * batch + 2])
        np.testing.assert_array_equal(memory_net.blobs['label'].data,
                                      labels[2 * batch:2 * batch + 2])
    w = memory_net.params['ip'][0].data
    np.testing.assert_allclose(memory_net.blobs['ip'].data, data[:2].reshape(2, 6).dot(w.T),
                               rtol=1e-5)
    # Labels may also come as N x 1 x 1 x 1, as pycaffe passes them on.
    memory_net.set_input_arrays(data[:2].copy(), labels[:2].reshape(2, 1, 1, 1).copy())
    memory_net.forward()
    np.testing.assert_array_equal(memory_net.blobs['data'].data, data[:2])


def test_set_input_arrays_keeps_the_arrays_alive(memory_net):
    memory_net.set_input_arrays(np.full((2, 1, 2, 3), 7, np.float32), np.zeros(2, np.float32))
    import gc
    gc.collect()  # the caller dropped its arrays; the net still reads them
    memory_net.forward()
    np.testing.assert_array_equal(memory_net.blobs['data'].data, 7)


@pytest.mark.parametrize('data, labels, message', [
    (np.zeros((4, 1, 2, 3), np.float64), np.zeros(4, np.float32), 'data must be float32'),
    (np.zeros((4, 1, 2, 3), np.float32), np.zeros(4, np.int64), 'labels must be float32'),
    (np.zeros((4, 1, 3, 2), np.float32).transpose(0, 1, 3, 2), np.zeros(4, np.float32),
     'C-contiguous'),
    (np.zeros((4, 6), np.float32), np.zeros(4, np.float32), '4-d'),
    (np.zeros((4, 1, 3, 2), np.float32), np.zeros(4, np.float32), r'items of shape \(1, 2, 3\)'),
    (np.zeros((4, 1, 2, 3), np.float32), np.zeros(2, np.float32), 'data has 4 items but labels has 2'),
    (np.zeros((3, 1, 2, 3), np.float32), np.zeros(3, np.float32), 'multiple of .* batch size 2'),
    (np.zeros((4, 1, 2, 3), np.float32), np.zeros((4, 2), np.float32), 'labels must be 1-d'),
])
def test_set_input_arrays_rejects_bad_arrays_with_value_errors(memory_net, data, labels, message):
    with pytest.raises(ValueError, match=message):
        memory_net.set_input_arrays(data, labels)


def test_set_input_arrays_needs_a_memory_data_layer(tmp_path):
    net = caffe.Net(write(tmp_path / 'train.prototxt', TRAIN_NET), caffe.TRAIN)
    with pytest.raises(ValueError, match='no MemoryData layer'):
        net.set_input_arrays(np.zeros((6, 1, 1, 8), np.float32), np.zeros(6, np.float32))


# --- HDF5 weights ------------------------------------------------------------------


def test_save_hdf5_load_hdf5_round_trip_in_caffe_layout(memory_net, tmp_path):
    path = str(tmp_path / 'weights.h5')
    memory_net.params['ip'][0].data[...] = np.arange(12, dtype=np.float32).reshape(2, 6) / 7
    memory_net.params['ip'][1].data[...] = [0.5, -1.5]
    memory_net.save_hdf5(path)
    other = caffe.Net(write(tmp_path / 'other.prototxt', MEMORY_NET), caffe.TEST)
    assert not np.array_equal(other.params['ip'][0].data, memory_net.params['ip'][0].data)
    other.load_hdf5(path)
    for a, b in zip(other.params['ip'], memory_net.params['ip']):
        np.testing.assert_array_equal(a.data, b.data)
    # Caffe's layout, one float dataset per parameter, data/<layer>/<index>:
    # read back by an HDF5Data layer whose tops are named like the datasets.
    source = write(tmp_path / 'source.txt', path + '\n')
    reader = caffe.Net(write(tmp_path / 'reader.prototxt', """
layer { name: "h5" type: "HDF5Data" top: "data/ip/0" top: "data/ip/1"
        hdf5_data_param { source: "%s" batch_size: 2 } }
""" % source), caffe.TEST)
    reader.forward()
    np.testing.assert_array_equal(reader.blobs['data/ip/0'].data, memory_net.params['ip'][0].data)
    np.testing.assert_array_equal(reader.blobs['data/ip/1'].data, memory_net.params['ip'][1].data)


def test_load_hdf5_errors_name_the_file(memory_net, tmp_path):
    with pytest.raises(caffe.Error, match='no_such.h5'):
        memory_net.load_hdf5(str(tmp_path / 'no_such.h5'))


# --- Names and layers --------------------------------------------------------------


def test_blob_loss_weights_and_layer_names(tmp_path):
    text = TRAIN_NET.replace('top: "loss" }', 'top: "loss" loss_weight: 0.5 }')
    net = caffe.Net(write(tmp_path / 'weighted.prototxt', text), caffe.TRAIN)
    assert list(net._layer_names) == ['data', 'label', 'ip', 'loss']
    weights = net.blob_loss_weights
    assert list(weights) == list(net.blobs)
    assert weights['loss'] == 0.5 and weights['ip'] == 0 and weights['data'] == 0
    # pycaffe's private index lists, as its own name dictionaries use them.
    loss_index = list(net._layer_names).index('loss')
    assert [net._blob_names[i] for i in net._bottom_ids(loss_index)] == ['ip', 'label']
    assert [net._blob_names[i] for i in net._top_ids(-1)] == ['loss']
    assert [net._blob_names[i] for i in net._inputs] == net.inputs == ['data', 'label']
    with pytest.raises(IndexError):
        net._top_ids(4)
    default = caffe.Net(write(tmp_path / 'plain.prototxt', TRAIN_NET), caffe.TRAIN)
    assert default.blob_loss_weights['loss'] == 1  # loss layers weigh 1 unless told


def test_layer_reshape_from_python(tmp_path):
    net = caffe.Net(write(tmp_path / 'train.prototxt', TRAIN_NET), caffe.TRAIN)
    ip = net.layer_dict['ip']
    assert ip.phase == caffe.TRAIN
    bottom, top = caffe.Blob([5, 8]), caffe.Blob()
    ip.reshape([bottom], [top])
    assert top.shape == (5, 3)
    with pytest.raises(caffe.Error, match="'ip'.*reshape got 0 bottom.*exactly 1"):
        ip.reshape([], [top])


def test_net_layer_hooks_run_around_each_layer(tmp_path):
    net = caffe.Net(write(tmp_path / 'train.prototxt', TRAIN_NET), caffe.TRAIN)
    events = []
    for name in ('before_forward', 'after_forward', 'before_backward', 'after_backward'):
        getattr(net, name)(lambda layer, name=name: events.append((name, layer)))
    net.forward()
    net.backward()
    n = len(net.layers)
    expected = [(kind, i) for i in range(n) for kind in ('before_forward', 'after_forward')]
    expected += [(kind, i) for i in reversed(range(n))
                 for kind in ('before_backward', 'after_backward')]
    assert events == expected
    with pytest.raises(TypeError):
        net.before_forward(None)


def test_layer_hooks_time_layers_with_timers(tmp_path):
    # The multi-GPU example's timing idiom: one Timer per layer.
    net = caffe.Net(write(tmp_path / 'train.prototxt', TRAIN_NET), caffe.TRAIN)
    timers = [caffe.Timer() for _ in net.layers]
    net.before_forward(lambda layer: timers[layer].start())
    net.after_forward(lambda layer: timers[layer].stop())
    net.forward()
    assert all(t.ms > 0 for t in timers)


def test_hook_exceptions_reach_the_caller(tmp_path):
    net = caffe.Net(write(tmp_path / 'train.prototxt', TRAIN_NET), caffe.TRAIN)

    def fail(layer):
        if layer == 2:
            raise ValueError('hook saw layer %d' % layer)

    net.after_forward(fail)
    with pytest.raises(ValueError, match='hook saw layer 2'):
        net.forward()


# --- Solver hooks --------------------------------------------------------------------


@pytest.fixture
def fed_solver(solver_file):
    solver = caffe.SGDSolver(solver_file)
    rng = np.random.RandomState(0)
    labels = np.arange(6) % 3
    data = rng.randn(6, 8).astype(np.float32) * 0.1
    data[np.arange(6), labels] += 1.0
    solver.net.blobs['data'].data[...] = data
    solver.net.blobs['label'].data[...] = labels
    return solver


def test_add_callback_runs_both_hooks_every_iteration_in_order(fed_solver):
    events = []
    weights = fed_solver.net.params['ip'][0]

    def on_start():
        events.append(('start', fed_solver.iter))

    def on_gradients():
        # Gradients are ready, the update has not happened yet.
        events.append(('gradients', fed_solver.iter, float(np.abs(weights.diff).sum())))

    fed_solver.add_callback(on_start, on_gradients)
    fed_solver.step(5)
    assert [e[:2] for e in events] == [(kind, i) for i in range(5)
                                       for kind in ('start', 'gradients')]
    assert all(e[2] > 0 for e in events if e[0] == 'gradients')
    fed_solver.add_callback(None, lambda: events.append('second'))
    fed_solver.step(2)
    assert events.count('second') == 2 and len(events) == 10 + 2 * 2 + 2


def test_add_callback_accepts_an_object_with_the_hooks(fed_solver):
    class Counter(object):
        starts = gradients = 0

        def on_start(self):
            self.starts += 1

        def on_gradients_ready(self):
            self.gradients += 1

    counter = Counter()
    fed_solver.add_callback(counter)
    fed_solver.step(3)
    assert (counter.starts, counter.gradients) == (3, 3)


def test_callback_exceptions_reach_the_caller(fed_solver):
    def boom():
        raise KeyError('from the callback')

    fed_solver.add_callback(boom, None)
    with pytest.raises(KeyError, match='from the callback'):
        fed_solver.step(1)
    with pytest.raises(TypeError):
        fed_solver.add_callback(42, None)


def test_apply_update_is_one_sgd_step(fed_solver):
    net = fed_solver.net
    param = fed_solver.param
    assert fed_solver.max_iter == param.max_iter == 40 and param.base_lr == 0.5
    net.clear_param_diffs()
    net.forward()
    net.backward()
    before = net.params['ip'][0].data.copy()
    grad = net.params['ip'][0].diff.copy()
    fed_solver.apply_update()
    # First step: momentum history is zero, no weight decay.
    np.testing.assert_allclose(net.params['ip'][0].data, before - 0.5 * grad, rtol=1e-5,
                               atol=1e-7)


def test_param_base_lr_can_be_set_and_applies_from_the_next_step(fed_solver):
    assert fed_solver.learning_rate() == 0.5
    fed_solver.param.base_lr = 0.0
    assert fed_solver.param.base_lr == 0 and fed_solver.learning_rate() == 0
    before = fed_solver.net.params['ip'][0].data.copy()
    fed_solver.step(2)
    np.testing.assert_array_equal(fed_solver.net.params['ip'][0].data, before)  # rate 0
    fed_solver.param.base_lr = 0.5
    fed_solver.step(1)
    assert not np.array_equal(fed_solver.net.params['ip'][0].data, before)
    with pytest.raises(AttributeError, match='read-only'):
        fed_solver.param.max_iter = 3
    with pytest.raises(caffe.Error, match='base_lr'):
        fed_solver.param.base_lr = -1


def test_share_weights_makes_a_net_follow_the_solver(fed_solver, tmp_path):
    other = caffe.Net(write(tmp_path / 'train.prototxt', TRAIN_NET), caffe.TEST)
    fed_solver.share_weights(other)
    fed_solver.step(2)
    np.testing.assert_array_equal(other.params['ip'][0].data, fed_solver.net.params['ip'][0].data)


def test_named_solvers_are_classes(solver_file):
    solver = caffe.AdamSolver(solver_file)
    assert isinstance(solver, caffe.AdamSolver) and not isinstance(solver, caffe.SGDSolver)
    assert solver.type == 'Adam' and caffe.AdamSolver.__name__ == 'AdamSolver'
    solver.step(1)
    assert solver.iter == 1


def test_timer_measures_elapsed_milliseconds():
    timer = caffe.Timer()
    timer.start()
    sum(range(100000))
    timer.stop()
    first = timer.ms
    assert first > 0
    assert timer.ms == first  # stopped: it no longer changes
