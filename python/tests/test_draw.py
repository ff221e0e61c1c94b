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
    # Edges out of convolutions and inner products carry their output count.
    assert '"layer2" -> "blob_conv1" [label="20"];' in dot
    assert '"layer0" -> "blob_data" [label="Batch 64"];' in dot
    assert '[label="20"]' not in caffe.draw.get_dot_graph(net, 'LR', label_edges=False)


def test_pooling_types_and_edge_labels():
    assert caffe.draw.get_pooling_types_dict() == {0: 'MAX', 1: 'AVE', 2: 'STOCHASTIC'}
    layer = caffe_pb2.LayerParameter(name='d', type='Data')
    layer.data_param.batch_size = 64
    assert caffe.draw.get_edge_label(layer) == 'Batch 64'
    layer = caffe_pb2.LayerParameter(name='fc', type='InnerProduct')
    layer.inner_product_param.num_output = 10
    assert caffe.draw.get_edge_label(layer) == '10'
    assert caffe.draw.get_edge_label(caffe_pb2.LayerParameter(type='ReLU')) is None


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


def test_draw_net_runs_as_a_module_from_any_folder(tmp_path):
    # `python3 -m caffe.draw_net` (and cortado.draw_net) from an unrelated
    # folder, with only PYTHONPATH pointing at the build's python tree, and a
    # relative output path that lands in that folder.
    python_tree = os.path.dirname(os.path.dirname(caffe.__file__))
    env = dict(os.environ, PYTHONPATH=python_tree)
    for module, name in (('caffe.draw_net', 'lenet.svg'), ('cortado.draw_net', 'lenet.dot')):
        result = subprocess.run([sys.executable, '-m', module, TRAIN_TEST, name, '--phase', 'TRAIN'],
                                cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        assert result.returncode == 0, result.stdout.decode(errors='replace')
        with open(str(tmp_path / name)) as f:
            text = f.read()
        assert ('<svg' in text) if name.endswith('svg') else text.startswith('digraph')
        assert '(Accuracy)' not in text.replace('&#45;', '-')  # TEST-only layer left out
    help_text = subprocess.run([sys.executable, '-m', 'caffe.draw_net', '--help'],
                               cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, check=True)
    assert b'--rankdir' in help_text.stdout
