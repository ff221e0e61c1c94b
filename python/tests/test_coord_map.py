"""caffe.coord_map: crop offsets that align an upsampled top with the input."""
import numpy as np
import pytest

import caffe
from caffe import layers as L
from caffe.coord_map import coord_map_from_to, crop, AxisMismatchException
from conftest import write


def fcn_like():
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[1, 2, 32, 32]))
    n.conv1 = L.Convolution(n.data, num_output=4, kernel_size=3, pad=5,
                            weight_filler=dict(type='gaussian', std=0.1))
    n.relu1 = L.ReLU(n.conv1, in_place=True)
    n.pool1 = L.Pooling(n.relu1, kernel_size=2, stride=2, pool=caffe.params.Pooling.MAX)
    n.conv2 = L.Convolution(n.pool1, num_output=3, kernel_size=3,
                            weight_filler=dict(type='gaussian', std=0.1))
    n.up = L.Deconvolution(n.conv2, convolution_param=dict(
        num_output=3, kernel_size=4, stride=2, bias_term=False,
        weight_filler=dict(type='constant', value=0.25)))
    return n


def test_map_and_crop_offset_follow_the_layers(tmp_path):
    n = fcn_like()
    # By hand, output pixel y of a k x k, stride s, pad p window is centred on
    # input pixel s y - p + (k - 1) / 2: conv1 gives data + 4, pool1
    # (conv1 - 0.5) / 2, conv2 pool1 - 1, the deconvolution 2 conv2 + 1.5,
    # so up = data + 3.
    axis, a, b = coord_map_from_to(n.up, n.data)
    assert axis == 2
    np.testing.assert_allclose(a, 1)
    np.testing.assert_allclose(b, 3)
    n.score = crop(n.up, n.data)
    layer = [l for l in n.to_proto().layer if l.type == 'Crop'][0]
    assert (layer.crop_param.axis, list(layer.crop_param.offset)) == (2, [3])
    net = caffe.Net(write(tmp_path / 'fcn.prototxt', str(n.to_proto())), caffe.TEST)
    net.forward(data=np.random.RandomState(0).rand(1, 2, 32, 32).astype(np.float32))
    assert net.blobs['up'].data.shape == (1, 3, 38, 38)
    assert net.blobs['score'].data.shape == (1, 3, 32, 32)
    np.testing.assert_array_equal(net.blobs['score'].data, net.blobs['up'].data[:, :, 3:35, 3:35])


def test_crop_refuses_what_it_cannot_align():
    n = fcn_like()
    with pytest.raises(AxisMismatchException, match='scale'):
        crop(n.pool1, n.data)  # half the resolution
    n.ip = L.InnerProduct(n.conv2, num_output=2)
    with pytest.raises(RuntimeError, match='no ancestor'):
        crop(n.ip, n.data)
    n.small = L.Convolution(n.data, num_output=1, kernel_size=3)  # small = data - 1
    layer = crop(n.data, n.small).fn
    assert layer.params['crop_param']['offset'] == [1]
    with pytest.raises(ValueError, match=r'misaligned by \[-1.0\]'):
        crop(n.small, n.data)  # it would need a negative offset
    n.half = L.Pooling(n.data, kernel_size=2, stride=2)
    # half = (data - 0.5) / 2; a 2x2 stride-2 deconvolution undoes it exactly,
    # a 3x3 one lands half a pixel off.
    n.back = L.Deconvolution(n.half, convolution_param=dict(num_output=2, kernel_size=2, stride=2))
    assert crop(n.back, n.data).fn.params['crop_param']['offset'] == [0]
    n.off = L.Deconvolution(n.half, convolution_param=dict(num_output=2, kernel_size=3, stride=2))
    with pytest.raises(ValueError, match=r'misaligned by \[0.5\]'):
        crop(n.off, n.data)
