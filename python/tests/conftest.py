"""Shared paths and small nets for the Python tests (run by ctest with
PYTHONPATH=build/python, from the repository root)."""
import os

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CONFORMANCE = os.path.join(REPO, '..', 'shared', 'conformance')
LENET_DEPLOY = os.path.join(REPO, 'models', 'lenet', 'lenet.prototxt')
LENET_WEIGHTS = os.path.join(CONFORMANCE, 'weights', 'lenet_mnist', 'lenet_iter_10000.caffemodel')
CAT_JPG = os.path.join(CONFORMANCE, 'bvlc', 'examples', 'images', 'cat.jpg')

# Four 3-vectors in, an InnerProduct to 2 outputs, ReLU in place.
TINY_NET = """
name: "tiny"
force_backward: true
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 4 dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
        inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.5 }
                              bias_filler { type: "constant" value: 0.1 } } }
layer { name: "relu" type: "ReLU" bottom: "ip" top: "ip" }
"""

# A classifier of 8-vectors into 3 classes, for solver tests.
TRAIN_NET = """
name: "softmax_regression"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 6 dim: 8 } } }
layer { name: "label" type: "Input" top: "label" input_param { shape { dim: 6 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
        inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
"""


def write(path, text):
    with open(str(path), 'w') as f:
        f.write(text)
    return str(path)


@pytest.fixture
def tiny_net_file(tmp_path):
    return write(tmp_path / 'tiny.prototxt', TINY_NET)


@pytest.fixture
def solver_file(tmp_path):
    net = write(tmp_path / 'train.prototxt', TRAIN_NET)
    return write(tmp_path / 'solver.prototxt', """
net: "%s"
base_lr: 0.5
lr_policy: "fixed"
momentum: 0.9
max_iter: 40
display: 0
snapshot_prefix: "%s"
random_seed: 7
""" % (net, tmp_path / 'snap'))
