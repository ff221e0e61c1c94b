"""Memory planning from Python: off unless the script asks, so intermediate
blobs stay readable; when asked, the same outputs, fewer bytes, and the
blobs the script keeps hold their values."""
import numpy as np

import caffe
from conftest import write

NET = """
name: "chain"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "sig" type: "Sigmoid" bottom: "conv2" top: "sig" }
layer { name: "conv3" type: "Convolution" bottom: "sig" top: "conv3"
        convolution_param { num_output: 2 kernel_size: 1 weight_filler { type: "gaussian" std: 0.3 } } }
"""


def make(tmp_path, **kwargs):
    net = caffe.Net(write(tmp_path / 'chain.prototxt', NET), caffe.TEST, **kwargs)
    rng = np.random.RandomState(0)
    for name in ('conv1', 'conv2', 'conv3'):
        for blob in net.params[name]:
            blob.data[...] = 0.3 * rng.randn(*blob.data.shape)
    net.blobs['data'].data[...] = rng.randn(2, 3, 8, 8)
    return net


def test_python_nets_keep_every_blob_unless_asked(tmp_path):
    net = make(tmp_path)
    assert not net.memory_planned
    assert net.memory_plan_bytes is None
    net.forward()
    conv1 = net.blobs['conv1'].data.copy()
    net.forward()
    np.testing.assert_array_equal(net.blobs['conv1'].data, conv1)
    assert np.abs(net.blobs['pool1'].data).sum() > 0


def test_planned_net_matches_and_keeps_what_the_script_reads(tmp_path):
    plain = make(tmp_path)
    planned = make(tmp_path, plan_memory=True)
    assert planned.memory_planned
    planned_bytes, unplanned_bytes = planned.memory_plan_bytes
    assert planned_bytes < unplanned_bytes
    expected = plain.forward()['conv3'].copy()
    np.testing.assert_array_equal(planned.forward()['conv3'], expected)
    # A pycaffe-style read of an intermediate blob: keep it, then read it.
    planned.keep_blobs(['pool1'])
    planned.forward()
    np.testing.assert_array_equal(planned.blobs['pool1'].data, plain.blobs['pool1'].data)
    # Turning planning off gives every blob its own storage again.
    planned.plan_memory(False)
    assert not planned.memory_planned
    planned.forward()
    np.testing.assert_array_equal(planned.blobs['conv2'].data, plain.blobs['conv2'].data)


def test_cpu_work_does_not_load_cublas(tmp_path):
    """cuBLAS (with cuBLASLt, about 150 MiB resident on load) is opened only
    when a GPU first needs it, so CPU work leaves it out of the process."""
    net = make(tmp_path, plan_memory=True)
    net.forward()
    net.backward()
    with open('/proc/self/maps') as maps:
        mapped = maps.read()
    assert 'libcublas' not in mapped
    assert 'libcortado' in mapped  # the maps are this process's, with the library in it
