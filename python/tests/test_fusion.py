"""Inference fusion from Python: off unless the script asks for it, and the
same outputs when it does; kept blobs are computed."""
import numpy as np

import caffe
from conftest import write

# Convolution -> BatchNorm (out of place) -> Scale -> ReLU, as in MobileNet v2.
BN_NET = """
name: "bn"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 6 dim: 6 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv/bn" }
layer { name: "scale" type: "Scale" bottom: "conv/bn" top: "conv/bn" scale_param { bias_term: true } }
layer { name: "relu" type: "ReLU" bottom: "conv/bn" top: "conv/bn" }
"""


def make(tmp_path, **kwargs):
    net = caffe.Net(write(tmp_path / 'bn.prototxt', BN_NET), caffe.TEST, **kwargs)
    rng = np.random.RandomState(0)
    for blob in net.params['conv']:
        blob.data[...] = 0.3 * rng.randn(*blob.data.shape)
    mean, var, factor = net.params['bn'][0].data, net.params['bn'][1].data, net.params['bn'][2].data
    mean[...] = rng.randn(*mean.shape)
    var[...] = rng.uniform(0.5, 2.0, var.shape)
    factor[...] = 2.0
    net.params['scale'][0].data[...] = rng.uniform(0.5, 1.5, 4)
    net.params['scale'][1].data[...] = rng.randn(4)
    net.blobs['data'].data[...] = rng.randn(2, 3, 6, 6)
    return net


def test_python_nets_do_not_fuse_unless_asked(tmp_path):
    net = make(tmp_path)
    assert not net.fuse_inference
    assert net.elided_blobs == []
    net.forward()
    # The intermediate a script may read is there.
    assert np.abs(net.blobs['conv'].data).sum() > 0


def test_fused_net_matches_and_elides_until_kept(tmp_path):
    plain = make(tmp_path)
    fused = make(tmp_path, fuse=True)
    assert fused.fuse_inference
    assert fused.elided_blobs == ['conv']
    expected = plain.forward()['conv/bn'].copy()
    np.testing.assert_allclose(fused.forward()['conv/bn'], expected, rtol=1e-5, atol=1e-5)
    fused.keep_blobs(['conv'])
    assert fused.elided_blobs == []
    fused.forward()
    np.testing.assert_array_equal(fused.blobs['conv'].data, plain.blobs['conv'].data)
    # Weights changed through a fresh view are refolded at the next forward.
    plain.params['scale'][0].data[...] *= -1
    fused.params['scale'][0].data[...] *= -1
    np.testing.assert_allclose(fused.forward()['conv/bn'], plain.forward()['conv/bn'],
                               rtol=1e-5, atol=1e-5)
    assert not np.allclose(fused.blobs['conv/bn'].data, expected)
