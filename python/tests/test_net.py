"""Net through the Python API: construction, blob views, forward/backward,
names, saving and sharing, and error mapping."""
import gc
import importlib
import os
import warnings
import weakref

import numpy as np
import pytest

import caffe
import cortado
from conftest import LENET_DEPLOY, LENET_WEIGHTS


def test_cortado_and_caffe_are_the_same_api():
    assert caffe.Net is cortado.Net
    assert caffe.io is cortado.io
    assert importlib.import_module('caffe.io') is cortado.io
    assert importlib.import_module('caffe.net_spec').NetSpec is cortado.NetSpec
    assert importlib.import_module('caffe.draw') is cortado.draw
    caffe_pb2 = importlib.import_module('caffe.proto.caffe_pb2')
    from caffe import layers as L, params as P  # noqa: F401 (the pycaffe idiom)
    assert caffe_pb2.NetParameter().DESCRIPTOR.full_name == 'caffe.NetParameter'
    assert (caffe.TRAIN, caffe.TEST) == (0, 1)


def test_both_constructor_forms_load_the_weights():
    a = caffe.Net(LENET_DEPLOY, LENET_WEIGHTS, caffe.TEST)
    b = caffe.Net(LENET_DEPLOY, caffe.TEST, weights=LENET_WEIGHTS)
    c = caffe.Net(LENET_DEPLOY, caffe.TEST)
    for name in ('conv1', 'ip2'):
        np.testing.assert_array_equal(a.params[name][0].data, b.params[name][0].data)
    assert not np.array_equal(a.params['conv1'][0].data, c.params['conv1'][0].data)
    assert a.phase == caffe.TEST


def test_blobs_params_and_names(tiny_net_file):
    net = caffe.Net(tiny_net_file, caffe.TRAIN)
    assert list(net.blobs) == ['data', 'ip']
    assert list(net.params) == ['ip']
    assert [b.data.shape for b in net.params['ip']] == [(2, 3), (2,)]
    assert net.inputs == ['data'] and net.outputs == ['ip']
    assert [layer.type for layer in net.layers] == ['Input', 'InnerProduct', 'ReLU']
    assert list(net.layer_dict) == ['data', 'ip', 'relu']
    assert net.top_names['relu'] == ['ip'] and net.bottom_names['ip'] == ['data']
    assert len(net.layers[1].blobs) == 2
    blob = net.blobs['data']
    assert (blob.num, blob.channels, blob.count, blob.shape) == (4, 3, 12, (4, 3))


def tiny_forward_reference(net, x):
    w, b = net.params['ip'][0].data, net.params['ip'][1].data
    return np.maximum(x.dot(w.T) + b, 0)


def test_forward_matches_numpy_through_writable_views(tiny_net_file):
    net = caffe.Net(tiny_net_file, caffe.TRAIN)
    x = np.random.RandomState(0).randn(4, 3).astype(np.float32)
    net.blobs['data'].data[...] = x
    net.params['ip'][1].data[...] = [0.5, -0.25]  # writing a parameter view changes the net
    out = net.forward()
    np.testing.assert_allclose(out['ip'], tiny_forward_reference(net, x), rtol=1e-5, atol=1e-6)
    # Keyword inputs, and the returned array is a view of the blob.
    x2 = x * 2
    out = net.forward(data=x2)
    np.testing.assert_allclose(out['ip'], tiny_forward_reference(net, x2), rtol=1e-5, atol=1e-6)
    assert np.shares_memory(out['ip'], net.blobs['ip'].data)


def test_forward_start_end_and_blobs(tiny_net_file):
    net = caffe.Net(tiny_net_file, caffe.TRAIN)
    net.blobs['data'].data[...] = 1
    out = net.forward(end='ip', blobs=['data'])
    assert set(out) == {'ip', 'data'}
    before_relu = out['ip'].copy()
    net.blobs['ip'].data[...] = -5
    out = net.forward(start='relu')  # only the ReLU runs
    np.testing.assert_array_equal(out['ip'], 0)
    with pytest.raises(KeyError, match='no layer named'):
        net.forward(start='nope')
    with pytest.raises(ValueError, match='do not match'):
        net.forward(wrong=np.zeros((4, 3)))
    assert before_relu.shape == (4, 2)


def test_backward_matches_numpy(tiny_net_file):
    net = caffe.Net(tiny_net_file, caffe.TRAIN)
    rng = np.random.RandomState(1)
    x = rng.randn(4, 3).astype(np.float32)
    top_diff = rng.randn(4, 2).astype(np.float32)
    net.forward(data=x)
    y = net.blobs['ip'].data.copy()
    for blob in net.params['ip']:
        blob.diff[...] = 0
    grads = net.backward(ip=top_diff, diffs=['ip'])
    masked = top_diff * (y > 0)
    w = net.params['ip'][0].data
    np.testing.assert_allclose(grads['data'], masked.dot(w), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.params['ip'][0].diff, masked.T.dot(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(net.params['ip'][1].diff, masked.sum(0), rtol=1e-5, atol=1e-5)
    # backward(start, end) over the InnerProduct alone: the diff at `ip` as given.
    net.blobs['ip'].diff[...] = top_diff
    grads = net.backward(start='ip', end='ip')
    np.testing.assert_allclose(grads['data'], top_diff.dot(w), rtol=1e-5, atol=1e-6)


def test_blob_reshape_and_net_reshape(tiny_net_file):
    net = caffe.Net(tiny_net_file, caffe.TRAIN)
    net.blobs['data'].reshape(7, 3)
    net.reshape()
    assert net.blobs['ip'].data.shape == (7, 2)
    x = np.ones((7, 3), dtype=np.float32)
    out = net.forward(data=x)
    np.testing.assert_allclose(out['ip'], tiny_forward_reference(net, x), rtol=1e-5)


def test_forward_all_batches_and_trims(tiny_net_file):
    net = caffe.Net(tiny_net_file, caffe.TRAIN)
    x = np.random.RandomState(2).randn(10, 3).astype(np.float32)  # 2.5 batches of 4
    out = net.forward_all(data=x)
    assert out['ip'].shape == (10, 2)
    np.testing.assert_allclose(out['ip'], tiny_forward_reference(net, x), rtol=1e-5, atol=1e-6)


def test_views_keep_the_net_alive(tiny_net_file):
    net = caffe.Net(tiny_net_file, caffe.TRAIN)
    weights = net.params['ip'][0].data
    expected = weights.copy()
    blob = net.blobs['ip']
    net_ref = weakref.ref(net)
    del net
    gc.collect()
    assert net_ref() is not None  # the views hold it
    np.testing.assert_array_equal(weights, expected)
    assert blob.data.shape == (4, 2)
    del weights, blob
    gc.collect()
    assert net_ref() is None  # and nothing else does: no leak


def test_save_copy_from_and_share_with(tiny_net_file, tmp_path):
    a = caffe.Net(tiny_net_file, caffe.TRAIN)
    a.params['ip'][0].data[...] = np.arange(6).reshape(2, 3)
    path = str(tmp_path / 'tiny.caffemodel')
    a.save(path)
    b = caffe.Net(tiny_net_file, caffe.TEST, weights=path)
    np.testing.assert_array_equal(b.params['ip'][0].data, a.params['ip'][0].data)
    c = caffe.Net(tiny_net_file, caffe.TEST)
    c.copy_from(path)
    np.testing.assert_array_equal(c.params['ip'][0].data, a.params['ip'][0].data)
    d = caffe.Net(tiny_net_file, caffe.TEST)
    d.share_with(a)
    a.params['ip'][0].data[0, 0] = 42
    assert d.params['ip'][0].data[0, 0] == 42


def test_errors_are_python_exceptions_with_the_message(tmp_path):
    with pytest.raises(caffe.Error) as info:
        caffe.Net(str(tmp_path / 'missing.prototxt'), caffe.TEST)
    assert 'missing.prototxt' in str(info.value)
    assert isinstance(info.value, RuntimeError)
    bad = tmp_path / 'bad.prototxt'
    bad.write_text('layer { name: "x" type: "NoSuchType" top: "x" }\n')
    with pytest.raises(caffe.Error, match='NoSuchType'):
        caffe.Net(str(bad), caffe.TEST)
    with pytest.raises(caffe.Error, match='phase'):
        caffe.Net(str(bad), 5)


def test_modes_and_seed(tiny_net_file):
    caffe.set_mode_cpu()
    if cortado._cortado.cuda_device_count() == 0:
        with pytest.warns(RuntimeWarning, match='CPU'):
            caffe.set_mode_gpu()
    else:
        with warnings.catch_warnings(record=True):
            caffe.set_mode_gpu()
    caffe.set_device(0)
    with pytest.raises(ValueError):
        caffe.set_device(-1)
    caffe.set_random_seed(123)
    a = caffe.Net(tiny_net_file, caffe.TRAIN).params['ip'][0].data.copy()
    caffe.set_random_seed(123)
    b = caffe.Net(tiny_net_file, caffe.TRAIN).params['ip'][0].data.copy()
    np.testing.assert_array_equal(a, b)
    caffe.set_mode_cpu()


def test_old_views_stay_valid_after_a_reshape_that_reallocates(tiny_net_file):
    # A view taken before blob.reshape to a bigger size pointed at freed
    # memory; it now keeps its old storage alive, detached from the blob.
    net = caffe.Net(tiny_net_file, caffe.TRAIN)
    blob = net.blobs['data']
    # 1 MiB buffers come from mmap, so a freed one is unmapped and reading
    # it would crash rather than read stale bytes.
    blob.reshape(256, 1024)
    old_data, old_diff = blob.data, blob.diff
    old_data[...] = 7
    blob.reshape(512, 1024)  # beyond the capacity: new storage
    gc.collect()
    blob.data[...] = 1
    blob.diff[...] = 2
    garbage = [np.full((64, 1024), -1, np.float32) for _ in range(8)]  # reuse freed memory
    assert (old_data == 7).all()
    old_data[...] = 3  # writes go to the old buffer, not the blob
    old_diff[...] = 5
    assert (old_data == 3).all() and (old_diff == 5).all()
    assert (blob.data == 1).all() and (blob.diff == 2).all()
    del garbage
    # Reshaping within the capacity keeps the storage: views still alias it.
    view = blob.data
    blob.reshape(2, 3)
    view[0, 0] = 9
    assert blob.data.flat[0] == 9


def test_too_many_axes_raise_instead_of_aborting():
    blob = caffe.Blob([2, 3])
    with pytest.raises(caffe.Error, match='33 axes; at most 32'):
        blob.reshape(*([1] * 33))
    assert blob.shape == (2, 3)
