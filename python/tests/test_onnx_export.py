"""caffe.export_onnx: every exported model passes onnx.checker (Debian's
python3-onnx), with the net's inputs, outputs and opset; unmappable layers
are errors naming the layer."""
import os

import numpy as np
import onnx
import pytest

import caffe
import cortado
from conftest import REPO, write

SHARED = os.path.join(REPO, '..', 'shared')
LENET = os.path.join(REPO, 'models', 'lenet')

# (name, prototxt relative to ../shared)
SHARED_NETS = [
    ('squeezenet_v1.1', 'conformance/bench/squeezenet_v1.1_deploy.prototxt'),
    ('googlenet', 'conformance/bvlc/models/bvlc_googlenet/deploy.prototxt'),
    ('resnet50', 'conformance/bench/resnet50_deploy.prototxt'),
    ('mobilenet_v2', 'conformance/bench/mobilenet_v2_deploy.prototxt'),
    ('alexnet', 'conformance/bvlc/models/bvlc_alexnet/deploy.prototxt'),
    ('mtcnn_pnet', 'zoo/mtcnn/det1.prototxt'),
    ('mtcnn_rnet', 'zoo/mtcnn/det2.prototxt'),
    ('mtcnn_onet', 'zoo/mtcnn/det3.prototxt'),
    ('mtcnn_lnet', 'zoo/mtcnn/det4.prototxt'),
    ('ultraface_rfb320', 'zoo/ultraface/RFB-320.prototxt'),
    ('ultraface_slim320', 'zoo/ultraface/slim-320.prototxt'),
]

CATALOGUE_NET = """
name: "catalogue"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 4 dim: 9 dim: 10 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 6 kernel_size: 3 pad: 1 group: 2
                            weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" }
layer { name: "scale" type: "Scale" bottom: "conv" top: "conv" scale_param { bias_term: true } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" relu_param { negative_slope: 0.1 } }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool"
        pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "clip" type: "Clip" bottom: "pool" top: "clip" clip_param { min: -1 max: 1 } }
layer { name: "pow" type: "Power" bottom: "clip" top: "pow" power_param { power: 2 shift: 1 } }
layer { name: "lrn" type: "LRN" bottom: "pow" top: "lrn" lrn_param { local_size: 3 } }
layer { name: "shuffle" type: "ShuffleChannel" bottom: "lrn" top: "shuffle"
        shuffle_channel_param { group: 2 } }
layer { name: "slice" type: "Slice" bottom: "shuffle" top: "a" top: "b" slice_param { axis: 1 } }
layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum"
        eltwise_param { operation: SUM coeff: 1 coeff: -1 } }
layer { name: "norm" type: "Normalize" bottom: "sum" top: "norm" }
layer { name: "perm" type: "Permute" bottom: "norm" top: "perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "up" type: "Upsample" bottom: "perm" top: "up" upsample_param { scale: 2 } }
layer { name: "interp" type: "Interp" bottom: "up" top: "interp" interp_param { height: 5 width: 3 } }
layer { name: "flat" type: "Flatten" bottom: "interp" top: "flat" }
layer { name: "ip" type: "InnerProduct" bottom: "flat" top: "ip"
        inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }
layer { name: "argmax" type: "ArgMax" bottom: "ip" top: "argmax" argmax_param { axis: 1 } }
layer { name: "reduce" type: "Reduction" bottom: "ip" top: "reduce" reduction_param { axis: 1 } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
"""


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert [o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')] == [13]
    return model


def dims(value_info):
    return [d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_lenet_with_weights(tmp_path):
    net = caffe.Net(os.path.join(LENET, 'lenet.prototxt'),
                    os.path.join(LENET, 'lenet_fashion_mnist.caffemodel'), caffe.TEST)
    out = str(tmp_path / 'lenet.onnx')
    caffe.export_onnx(net, out)
    model = check(out)
    assert [i.name for i in model.graph.input] == ['data']
    assert dims(model.graph.input[0]) == list(net.blobs['data'].data.shape)
    assert [o.name for o in model.graph.output] == ['prob']
    # The trained weights travel: conv1's filter is an initializer of the Conv.
    conv = next(n for n in model.graph.node if n.op_type == 'Conv')
    weights = {t.name: t for t in model.graph.initializer}[conv.input[1]]
    values = np.frombuffer(weights.raw_data, dtype=np.float32).reshape(list(weights.dims))
    np.testing.assert_array_equal(values, net.params['conv1'][0].data)


def test_cortado_and_caffe_are_one_function():
    assert cortado.export_onnx is caffe.export_onnx


def test_catalogue_net_passes_checker(tmp_path):
    net = caffe.Net(write(tmp_path / 'catalogue.prototxt', CATALOGUE_NET), caffe.TEST)
    out = str(tmp_path / 'catalogue.onnx')
    caffe.export_onnx(net, out)
    model = check(out)
    assert sorted(o.name for o in model.graph.output) == ['argmax', 'prob', 'reduce']
    ops = {n.op_type for n in model.graph.node}
    for op in ('Conv', 'BatchNormalization', 'LeakyRelu', 'Pad', 'AveragePool', 'LRN',
               'Transpose', 'Slice', 'Resize', 'Gemm', 'ArgMax', 'Softmax'):
        assert op in ops, op


@pytest.mark.parametrize('name,prototxt', SHARED_NETS, ids=[n for n, _ in SHARED_NETS])
def test_shared_net_passes_checker(tmp_path, name, prototxt):
    path = os.path.join(SHARED, prototxt)
    if not os.path.exists(path):
        pytest.skip('the shared set (%s) is missing' % path)
    net = caffe.Net(path, caffe.TEST)
    out = str(tmp_path / (name + '.onnx'))
    caffe.export_onnx(net, out)
    model = check(out)
    assert [o.name for o in model.graph.output] == list(net.outputs)


def test_cifar10_resnet20_with_trained_weights_passes_checker(tmp_path):
    """The zoo's ResNet-20 ships as a train_test net: its data, loss and
    accuracy layers give way to an Input, as a deploy net has."""
    from google.protobuf import text_format
    from caffe.proto import caffe_pb2
    folder = os.path.join(SHARED, 'zoo', 'cifar10_resnet20')
    train = caffe_pb2.NetParameter()
    with open(os.path.join(folder, 'res20_cifar_train_test.prototxt')) as f:
        text_format.Merge(f.read(), train)
    deploy = caffe_pb2.NetParameter()
    deploy.name = train.name
    data = deploy.layer.add(name='Data1', type='Input', top=['Data1'])
    data.input_param.shape.add(dim=[1, 3, 32, 32])
    for layer in train.layer:
        if layer.type not in ('Data', 'SoftmaxWithLoss', 'Accuracy'):
            deploy.layer.add().CopyFrom(layer)
    net = caffe.Net(write(tmp_path / 'res20_deploy.prototxt', text_format.MessageToString(deploy)),
                    os.path.join(folder, 'cifar10_res20_iter_64000.caffemodel'), caffe.TEST)
    out = str(tmp_path / 'resnet20.onnx')
    caffe.export_onnx(net, out)
    model = check(out)
    assert [o.name for o in model.graph.output] == ['InnerProduct1']
    # Every convolution travels, the two projection shortcuts included.
    assert (sum(n.op_type == 'Conv' for n in model.graph.node) ==
            sum(layer.type == 'Convolution' for layer in deploy.layer))


def test_unmappable_layer_is_named(tmp_path):
    text = ('layer { name: "data" type: "Input" top: "data" '
            'input_param { shape { dim: 1 dim: 3 } } }\n'
            'layer { name: "odd_one" type: "MVN" bottom: "data" top: "b" }\n')
    net = caffe.Net(write(tmp_path / 'mvn.prototxt', text), caffe.TEST)
    with pytest.raises(caffe.Error, match="odd_one.*MVN"):
        caffe.export_onnx(net, str(tmp_path / 'mvn.onnx'))
