"""caffe.draw and draw_net.py: net diagrams through Graphviz."""
import os
import subprocess
import sys

from google.protobuf import text_format

import caffe
import caffe.draw
from caffe.proto import caffe_pb2
from conftest import REPO

TRAIN_TEST = os.path.join(REPO, 'models', 'lenet', 'lenet_train_test.prototxt')


def load(path):
    with open(path) as f:
        return text_format.Parse(f.read(), caffe_pb2.NetParameter())


def test_dot_graph_has_layers_blobs_and_phase_filter():
    net = load(TRAIN_TEST)
    dot = caffe.draw.get_dot_graph(net, 'LR')
    assert dot.startswith('digraph') and '"blob_conv1"' in dot and '(Convolution)' in dot
    test_only = caffe.draw.get_dot_graph(net, 'LR', phase=caffe.TEST)
    train_only = caffe.draw.get_dot_graph(net, 'LR', phase=caffe.TRAIN)
    # LeNet's Accuracy layer is TEST-only.
    assert '(Accuracy)' in test_only and '(Accuracy)' not in train_only


def test_draw_net_renders_png_and_svg(tmp_path):
    net = load(TRAIN_TEST)
    png = caffe.draw.draw_net(net, 'TB', ext='png')
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    svg_path = str(tmp_path / 'lenet.svg')
    caffe.draw.draw_net_to_file(net, svg_path)
    with open(svg_path) as f:
        assert '<svg' in f.read()


def test_draw_net_script(tmp_path):
    out = str(tmp_path / 'lenet.png')
    # The built tree's copy: next to the package, as after `cmake --install`.
    script = os.path.join(os.path.dirname(os.path.dirname(caffe.__file__)), 'draw_net.py')
    subprocess.run([sys.executable, script, TRAIN_TEST, out, '--rankdir', 'TB', '--phase', 'TEST'],
                   check=True, stdout=subprocess.PIPE)
    with open(out, 'rb') as f:
        assert f.read(4) == b'\x89PNG'
