"""Solvers through the Python API: construction by type, stepping, the
nets they own, snapshots and restore."""
import os

import numpy as np
import pytest

import caffe


def feed(net, seed=0):
    rng = np.random.RandomState(seed)
    labels = np.arange(6) % 3
    data = rng.randn(6, 8).astype(np.float32) * 0.1
    data[np.arange(6), labels] += 1.0  # separable: class k lights feature k
    net.blobs['data'].data[...] = data
    net.blobs['label'].data[...] = labels


def test_sgd_solver_steps_and_lowers_the_loss(solver_file):
    solver = caffe.SGDSolver(solver_file)
    assert solver.type == 'SGD' and solver.iter == 0
    feed(solver.net)
    solver.net.forward()
    first = float(solver.net.blobs['loss'].data)
    solver.step(20)
    assert solver.iter == 20
    solver.net.forward()
    assert float(solver.net.blobs['loss'].data) < 0.5 * first
    assert solver.test_nets == []


def test_get_solver_uses_the_file_type_and_named_constructors_override_it(solver_file):
    assert caffe.get_solver(solver_file).type == 'SGD'
    with open(solver_file, 'a') as f:
        f.write('type: "Nesterov"\n')
    assert caffe.SGDSolver(solver_file).type == 'SGD'
    # Every pycaffe solver class goes through the C++ factory by type name:
    # it either builds that solver or says clearly that this build lacks it.
    for make, name in [(caffe.NesterovSolver, 'Nesterov'), (caffe.AdaGradSolver, 'AdaGrad'),
                       (caffe.RMSPropSolver, 'RMSProp'), (caffe.AdaDeltaSolver, 'AdaDelta'),
                       (caffe.AdamSolver, 'Adam')]:
        try:
            assert make(solver_file).type == name
        except caffe.Error as e:
            assert name in str(e)


def test_solver_net_views_follow_training_and_keep_solver_alive(solver_file):
    solver = caffe.get_solver(solver_file)
    net = solver.net
    assert net is solver.net  # one wrapper per C++ net
    weights = net.params['ip'][0].data
    before = weights.copy()
    feed(net)
    solver.step(1)
    assert not np.array_equal(weights, before)  # the view sees the update in place
    del solver
    assert net.params['ip'][0].data.shape == (3, 8)


def test_snapshot_and_restore(solver_file, tmp_path):
    solver = caffe.get_solver(solver_file)
    feed(solver.net)
    solver.step(5)
    model = solver.snapshot()
    assert os.path.exists(model) and model.endswith('_iter_5.caffemodel')
    state = model.replace('.caffemodel', '.solverstate')
    assert os.path.exists(state)
    trained = solver.net.params['ip'][0].data.copy()
    solver.step(3)
    restored = caffe.get_solver(solver_file)
    restored.restore(state)
    assert restored.iter == 5
    np.testing.assert_array_equal(restored.net.params['ip'][0].data, trained)


def test_solve_runs_to_max_iter(solver_file):
    solver = caffe.get_solver(solver_file)
    feed(solver.net)
    solver.solve()
    assert solver.iter == 40


def test_test_nets_share_the_train_weights(tmp_path):
    from conftest import TRAIN_NET, write
    net = write(tmp_path / 'net.prototxt', TRAIN_NET)
    solver_path = write(tmp_path / 'solver.prototxt', """
net: "%s"
test_iter: 1
test_interval: 1000
base_lr: 0.1
lr_policy: "fixed"
max_iter: 10
snapshot_prefix: "%s"
""" % (net, tmp_path / 'snap'))
    solver = caffe.get_solver(solver_path)
    assert len(solver.test_nets) == 1
    test_net = solver.test_nets[0]
    np.testing.assert_array_equal(test_net.params['ip'][0].data, solver.net.params['ip'][0].data)
    feed(solver.net)
    solver.step(2)
    np.testing.assert_array_equal(test_net.params['ip'][0].data, solver.net.params['ip'][0].data)


def test_missing_solver_file_raises(tmp_path):
    with pytest.raises(caffe.Error, match='nope.prototxt'):
        caffe.get_solver(str(tmp_path / 'nope.prototxt'))
