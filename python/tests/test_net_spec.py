"""caffe.net_spec: nets written in Python give prototxt that Cortado loads
and that parses as BVLC Caffe's schema."""
import numpy as np
import pytest
from google.protobuf import text_format

import caffe
from caffe import layers as L, params as P
from caffe.proto import caffe_pb2


def lenet(batch_size):
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[batch_size, 1, 28, 28]))
    n.conv1 = L.Convolution(n.data, kernel_size=5, num_output=20, weight_filler=dict(type='xavier'))
    n.pool1 = L.Pooling(n.conv1, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.ip1 = L.InnerProduct(n.pool1, num_output=50, weight_filler=dict(type='xavier'),
                           param=[dict(lr_mult=1), dict(lr_mult=2)])
    n.relu1 = L.ReLU(n.ip1, in_place=True)
    n.ip2 = L.InnerProduct(n.relu1, num_output=10, weight_filler=dict(type='xavier'))
    n.prob = L.Softmax(n.ip2)
    return n.to_proto()


def test_netspec_builds_the_expected_layers():
    proto = lenet(2)
    assert [l.name for l in proto.layer] == ['data', 'conv1', 'pool1', 'ip1', 'relu1', 'ip2', 'prob']
    conv = proto.layer[1]
    assert conv.type == 'Convolution' and list(conv.bottom) == ['data']
    assert list(conv.convolution_param.kernel_size) == [5]
    assert conv.convolution_param.weight_filler.type == 'xavier'
    assert proto.layer[2].pooling_param.pool == caffe_pb2.PoolingParameter.MAX
    assert [p.lr_mult for p in proto.layer[3].param] == [1, 2]
    relu = proto.layer[4]
    assert list(relu.bottom) == ['ip1'] and list(relu.top) == ['ip1']
    assert list(proto.layer[5].bottom) == ['ip1']


def test_prototxt_parses_as_bvlc_schema_and_runs_in_cortado(tmp_path):
    text = str(lenet(3))
    reparsed = text_format.Parse(text, caffe_pb2.NetParameter())
    assert reparsed == lenet(3)
    path = tmp_path / 'lenet.prototxt'
    path.write_text(text)
    net = caffe.Net(str(path), caffe.TEST)
    assert net.blobs['prob'].data.shape == (3, 10)
    out = net.forward(data=np.random.RandomState(0).rand(3, 1, 28, 28).astype(np.float32))
    np.testing.assert_allclose(out['prob'].sum(axis=1), 1, rtol=1e-5)


def test_multiple_tops_autonames_strings_for_enums_and_to_proto():
    data, label = L.Data(source='x_lmdb', backend='LMDB', batch_size=4, ntop=2)
    loss = L.SoftmaxWithLoss(L.InnerProduct(data, num_output=3), label)
    proto = caffe.to_proto(loss)
    assert [l.type for l in proto.layer] == ['Data', 'InnerProduct', 'SoftmaxWithLoss']
    assert proto.layer[0].data_param.backend == caffe_pb2.DataParameter.LMDB
    assert len(proto.layer[0].top) == 2
    assert list(proto.layer[2].bottom) == [proto.layer[1].top[0], proto.layer[0].top[1]]
    names = [l.name for l in proto.layer]
    assert len(set(names)) == 3


def test_bad_parameters_are_reported():
    with pytest.raises(AttributeError, match='no_such_field'):
        caffe.to_proto(L.Convolution(L.Input(), no_such_field=3))
    with pytest.raises(ValueError, match='NOPE'):
        caffe.to_proto(L.Pooling(L.Input(), pool='NOPE'))
    with pytest.raises(TypeError):
        L.ReLU('not a top')
