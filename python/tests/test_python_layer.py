"""The `Python` layer type: layers written in Python inside nets built from
Python, and inside `cortado train` (embedded interpreter)."""
import os
import re
import subprocess

import numpy as np
import pytest

import caffe
from conftest import REPO, write

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

LOSS_NET = """
name: "pyloss"
force_backward: true
layer { name: "a" type: "Input" top: "a" input_param { shape { dim: 5 dim: 3 } } }
layer { name: "b" type: "Input" top: "b" input_param { shape { dim: 5 dim: 3 } } }
layer { name: "scaled" type: "Python" bottom: "a" top: "scaled"
        python_param { module: "pylayers" layer: "ScaleByParamLayer" param_str: '{"factor": 3}' } }
layer { name: "loss" type: "Python" bottom: "scaled" bottom: "b" top: "loss" loss_weight: 1
        python_param { module: "pylayers" layer: "EuclideanLossLayer" } }
"""


@pytest.fixture(autouse=True)
def pylayers_on_path(monkeypatch):
    monkeypatch.syspath_prepend(TESTS_DIR)


def make_net(tmp_path, text=LOSS_NET, phase=caffe.TRAIN):
    return caffe.Net(write(tmp_path / 'net.prototxt', text), phase)


def test_forward_backward_match_numpy(tmp_path):
    net = make_net(tmp_path)
    assert [l.type for l in net.layers] == ['Input', 'Input', 'Python', 'Python']
    rng = np.random.RandomState(0)
    a, b = rng.randn(5, 3).astype(np.float32), rng.randn(5, 3).astype(np.float32)
    loss = net.forward(a=a, b=b)['loss']
    assert loss.shape == (1,)
    np.testing.assert_allclose(loss[0], np.sum((3 * a - b) ** 2) / 5 / 2, rtol=1e-5)
    grads = net.backward(diffs=['b'])
    np.testing.assert_allclose(grads['a'], 3 * (3 * a - b) / 5, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads['b'], -(3 * a - b) / 5, rtol=1e-5, atol=1e-6)


def test_gradient_matches_finite_differences(tmp_path):
    net = make_net(tmp_path)
    rng = np.random.RandomState(1)
    a, b = rng.randn(5, 3), rng.randn(5, 3)
    net.forward(a=a, b=b)
    analytic = net.backward()['a'].copy()
    step = 1e-2
    for index in [(0, 0), (2, 1), (4, 2)]:
        plus, minus = a.copy(), a.copy()
        plus[index] += step
        minus[index] -= step
        numeric = (net.forward(a=plus, b=b)['loss'][0] - net.forward(a=minus, b=b)['loss'][0]) / (2 * step)
        assert abs(numeric - analytic[index]) < 1e-2 * max(1.0, abs(numeric))


def test_param_str_and_phase_reach_the_layer(tmp_path):
    net = make_net(tmp_path, phase=caffe.TEST)
    net.forward(a=np.ones((5, 3)), b=np.zeros((5, 3)))
    np.testing.assert_allclose(net.blobs['scaled'].data, 3)


def test_python_errors_name_the_layer(tmp_path):
    text = """
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 } } }
layer { name: "boom" type: "Python" bottom: "x" top: "y"
        python_param { module: "pylayers" layer: "FailingLayer" } }
"""
    net = make_net(tmp_path, text)
    with pytest.raises(caffe.Error) as info:
        net.forward()
    message = str(info.value)
    assert 'boom' in message and 'forward' in message and 'deliberate failure' in message
    missing = text.replace('pylayers', 'no_such_module_xyz')
    with pytest.raises(caffe.Error, match='no_such_module_xyz'):
        make_net(tmp_path, missing)


def cortado_tool():
    tool = os.environ.get('CORTADO_TOOL', os.path.join(REPO, 'build', 'cortado'))
    assert os.path.exists(tool), 'cortado tool not built at %s' % tool
    return tool


def test_cortado_train_runs_python_layers(tmp_path):
    net = write(tmp_path / 'train.prototxt', """
name: "python_data"
layer { name: "data" type: "Python" top: "data" top: "label"
        python_param { module: "pylayers" layer: "SeparableDataLayer" } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
        inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
""")
    solver = write(tmp_path / 'solver.prototxt', """
net: "%s"
base_lr: 0.5
lr_policy: "fixed"
max_iter: 60
display: 10
snapshot_prefix: "%s"
""" % (net, tmp_path / 'snap'))
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([TESTS_DIR, os.path.dirname(os.path.dirname(caffe.__file__))])
    result = subprocess.run([cortado_tool(), 'train', '--solver=' + solver], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    log = result.stdout.decode(errors='replace')
    assert result.returncode == 0, log
    losses = [float(x) for x in re.findall(r'Iteration \d+.*loss = ([0-9.eE+-]+)', log)]
    assert len(losses) >= 2, log
    assert losses[-1] < 0.5 * losses[0], log


# y = w x + b by a Python layer with two learnable parameters, fitted by the
# solver to targets made with w = 3, b = -1.
LEARNED_NET = """
name: "learned_scale"
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 16 dim: 3 } } }
layer { name: "target" type: "Input" top: "target" input_param { shape { dim: 16 dim: 3 } } }
layer { name: "scale" type: "Python" bottom: "x" top: "y"
        param { lr_mult: 1 } param { lr_mult: %s decay_mult: 0 }
        python_param { module: "pylayers" layer: "LearnedScaleLayer"
                       param_str: '{"w": 1.0, "b": 0.25}' } }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "target" top: "loss" }
"""


def learned_solver(tmp_path, b_lr_mult=1):
    net = write(tmp_path / 'learned.prototxt', LEARNED_NET % b_lr_mult)
    solver = caffe.SGDSolver(write(tmp_path / 'solver.prototxt', """
net: "%s"
base_lr: 0.05
lr_policy: "fixed"
momentum: 0.9
weight_decay: 0
display: 0
max_iter: 300
snapshot_prefix: "%s"
""" % (net, tmp_path / 'snap')))
    x = np.random.RandomState(3).randn(16, 3).astype(np.float32)
    solver.net.blobs['x'].data[...] = x
    solver.net.blobs['target'].data[...] = 3 * x - 1
    return net, solver


def test_python_layer_parameters_are_net_params(tmp_path):
    net = make_net(tmp_path, LEARNED_NET % 1)
    assert list(net.params) == ['scale']
    w, b = net.params['scale']
    assert (w.data.shape, b.data.shape) == ((1,), (1,))
    assert (w.data[0], b.data[0]) == (1.0, 0.25)
    # The layer's self.blobs and net.params are the same storage.
    w.data[...] = 2.0
    x = np.ones((16, 3), np.float32)
    out = net.forward(x=x, target=x)
    np.testing.assert_allclose(net.blobs['y'].data, 2.25)
    assert float(out['loss']) == pytest.approx(16 * 3 * 1.25 ** 2 / 16 / 2, rel=1e-5)


def test_solver_trains_python_layer_parameters_and_they_round_trip(tmp_path):
    net_file, solver = learned_solver(tmp_path)
    solver.step(300)
    w, b = (blob.data[0] for blob in solver.net.params['scale'])
    assert w == pytest.approx(3.0, rel=1e-3)
    assert b == pytest.approx(-1.0, rel=1e-3)
    # Saved in the caffemodel, restored on load in both constructor forms.
    model = str(tmp_path / 'learned.caffemodel')
    solver.net.save(model)
    for loaded in (caffe.Net(net_file, model, caffe.TEST),
                   caffe.Net(net_file, caffe.TEST, weights=model)):
        assert [blob.data[0] for blob in loaded.params['scale']] == [w, b]
    fresh = caffe.Net(net_file, caffe.TEST)
    assert fresh.params['scale'][0].data[0] == 1.0
    fresh.copy_from(model)
    assert [blob.data[0] for blob in fresh.params['scale']] == [w, b]
    x = np.random.RandomState(4).randn(16, 3).astype(np.float32)
    out = fresh.forward(x=x, target=3 * x - 1)
    np.testing.assert_allclose(fresh.blobs['y'].data, w * x + b, rtol=1e-6)
    assert float(out['loss']) < 1e-4


def test_lr_mult_zero_freezes_a_python_layer_parameter(tmp_path):
    _, solver = learned_solver(tmp_path, b_lr_mult=0)
    solver.step(50)
    w, b = (blob.data[0] for blob in solver.net.params['scale'])
    assert b == 0.25  # frozen by lr_mult: 0
    assert w != 1.0   # still learning


def test_python_layer_blobs_only_grow_in_setup(tmp_path):
    text = """
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 } } }
layer { name: "late" type: "Python" bottom: "x" top: "y"
        python_param { module: "pylayers" layer: "LateBlobLayer" } }
"""
    with pytest.raises(caffe.Error, match=r"late.*add_blob\(\) may only be called in setup"):
        make_net(tmp_path, text)


def test_parameter_through_net_layers_save_copy_and_share(tmp_path):
    text = """
name: "one_parameter"
force_backward: true
layer { name: "layer" type: "Python" top: "out"
        python_param { module: "pylayers" layer: "OneParameterLayer" } }
"""
    net = make_net(tmp_path, text)
    net.forward()
    net.backward()
    layer = net.layers[list(net._layer_names).index('layer')]
    assert len(layer.blobs) == 1 and layer.type == 'Python'
    assert (layer.blobs[0].data[0], layer.blobs[0].diff[0]) == (0, 1)  # zero-filled at start
    layer.blobs[0].data[0] += layer.blobs[0].diff[0]
    assert net.forward()['out'][0] == 1
    model = str(tmp_path / 'one.caffemodel')
    net.save(model)
    layer.blobs[0].data[0] = -1
    net.copy_from(model)
    assert layer.blobs[0].data[0] == 1
    other = make_net(tmp_path, text)
    other.share_with(net)
    layer.blobs[0].data[0] = 5
    assert other.forward()['out'][0] == 5
    # HDF5 weights carry it too.
    h5 = str(tmp_path / 'one.h5')
    net.save_hdf5(h5)
    fresh = make_net(tmp_path, text)
    fresh.load_hdf5(h5)
    assert fresh.params['layer'][0].data[0] == 5


def test_cortado_train_learns_and_snapshots_python_layer_parameters(tmp_path):
    net = write(tmp_path / 'fit.prototxt', """
name: "fit"
layer { name: "data" type: "Python" top: "x" top: "target"
        python_param { module: "pylayers" layer: "LinearTargetsLayer" } }
layer { name: "scale" type: "Python" bottom: "x" top: "y"
        python_param { module: "pylayers" layer: "LearnedScaleLayer" } }
layer { name: "loss" type: "EuclideanLoss" bottom: "y" bottom: "target" top: "loss" }
""")
    solver = write(tmp_path / 'solver.prototxt', """
net: "%s"
base_lr: 0.05
momentum: 0.9
lr_policy: "fixed"
max_iter: 200
display: 50
snapshot_prefix: "%s"
""" % (net, tmp_path / 'fit'))
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([TESTS_DIR, os.path.dirname(os.path.dirname(caffe.__file__))])
    result = subprocess.run([cortado_tool(), 'train', '--solver=' + solver], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert result.returncode == 0, result.stdout.decode(errors='replace')
    trained = caffe.Net(net, str(tmp_path / 'fit_iter_200.caffemodel'), caffe.TEST)
    w, b = (blob.data[0] for blob in trained.params['scale'])
    assert w == pytest.approx(3.0, rel=1e-2) and b == pytest.approx(-1.0, rel=1e-2)


def test_python_layer_methods_and_attributes_through_net_layers(tmp_path):
    net = make_net(tmp_path, """
layer { name: "feed" type: "Python" top: "x"
        python_param { module: "pylayers" layer: "SettableDataLayer" } }
""")
    feed = net.layer_dict['feed']
    feed.set_data(np.arange(6).reshape(2, 3))
    assert feed.calls == 1 and feed.phase == caffe.TRAIN and feed.type == 'Python'
    net.forward()
    np.testing.assert_array_equal(net.blobs['x'].data, np.arange(6).reshape(2, 3))
    with pytest.raises(AttributeError, match='no_such_attribute'):
        feed.no_such_attribute
    net_with_builtin = make_net(tmp_path, """
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 } } }
""")
    with pytest.raises(AttributeError, match="layer 'x' \\(Input\\) has no attribute 'set_data'"):
        net_with_builtin.layers[0].set_data
