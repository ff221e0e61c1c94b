"""Net diagrams: a NetParameter as Graphviz DOT text, rendered by the `dot`
program (Debian `graphviz`). Layers are boxes, blobs are ovals; in-place
layers draw as a box on the blob they rewrite."""
import subprocess

from .proto import caffe_pb2

LAYER_STYLE = {'shape': 'record', 'fillcolor': '#6495ED', 'style': 'filled'}
NEURON_LAYER_STYLE = {'shape': 'record', 'fillcolor': '#90EE90', 'style': 'filled'}
BLOB_STYLE = {'shape': 'octagon', 'fillcolor': '#E0E0E0', 'style': 'filled'}


def _quote(text):
    return '"%s"' % str(text).replace('\\', '\\\\').replace('"', '\\"')


def _attributes(attrs):
    return '[%s]' % ', '.join('%s=%s' % (k, _quote(v)) for k, v in sorted(attrs.items()))


def get_pooling_types_dict():
    """{PoolMethod value: its name}, e.g. {0: 'MAX', 1: 'AVE', 2: 'STOCHASTIC'}."""
    return {value.number: value.name
            for value in caffe_pb2.PoolingParameter.PoolMethod.DESCRIPTOR.values}


def get_edge_label(layer):
    """The text on the arrows out of a layer: the batch size of a data layer,
    the output count of convolutions and inner products; None otherwise."""
    if layer.type == 'Data':
        return 'Batch %d' % layer.data_param.batch_size
    if layer.type in ('Convolution', 'Deconvolution'):
        return '%d' % layer.convolution_param.num_output
    if layer.type == 'InnerProduct':
        return '%d' % layer.inner_product_param.num_output
    return None


def get_layer_label(layer, rankdir, display_lrm=False):
    """The text in a layer's box: name, type and, for convolution and
    pooling, kernel/stride/pad; with display_lrm, learning-rate multipliers."""
    separator = ' ' if rankdir in ('TB', 'BT') else '\\n'
    parts = [layer.name, '(%s)' % layer.type]
    if layer.type in ('Convolution', 'Deconvolution'):
        p = layer.convolution_param
        kernel = p.kernel_size[0] if len(p.kernel_size) else p.kernel_h
        stride = p.stride[0] if len(p.stride) else (p.stride_h or 1)
        pad = p.pad[0] if len(p.pad) else p.pad_h
        parts.append('kernel size: %d%sstride: %d%spad: %d' % (kernel, separator, stride,
                                                               separator, pad))
    elif layer.type == 'Pooling':
        p = layer.pooling_param
        pool = caffe_pb2.PoolingParameter.PoolMethod.Name(p.pool)
        parts.append('pool: %s%skernel size: %d%sstride: %d%spad: %d'
                     % (pool, separator, p.kernel_size or p.kernel_h, separator,
                        p.stride or 1, separator, p.pad))
    if display_lrm and len(layer.param):
        parts.append('lr mult: %s' % ', '.join('%g' % s.lr_mult for s in layer.param))
    return separator.join(parts)


def choose_color_by_layertype(layertype):
    """Box colour: convolutions blue, pooling orange, inner products purple."""
    if layertype in ('Convolution', 'Deconvolution'):
        return '#FF5050'
    if layertype == 'Pooling':
        return '#FF9900'
    if layertype == 'InnerProduct':
        return '#CC33CC'
    return '#6495ED'


def _layer_included(layer, phase):
    if phase is None:
        return True
    included = not layer.include
    for rule in layer.include:
        included = included or rule.phase == phase
    for rule in layer.exclude:
        if rule.phase == phase:
            included = False
    return included


def get_dot_graph(caffe_net, rankdir, label_edges=True, phase=None, display_lrm=False):
    """The DOT text for a NetParameter; phase (caffe.TRAIN/TEST) filters
    layers by their include/exclude rules."""
    lines = ['digraph %s {' % _quote(caffe_net.name or 'net'),
             '  graph [rankdir=%s];' % _quote(rankdir)]
    blob_nodes = set()
    for index, layer in enumerate(caffe_net.layer):
        if not _layer_included(layer, phase):
            continue
        node = 'layer%d' % index
        in_place = len(layer.bottom) == 1 and list(layer.top) == list(layer.bottom)
        style = dict(NEURON_LAYER_STYLE if in_place else LAYER_STYLE)
        if not in_place:
            style['fillcolor'] = choose_color_by_layertype(layer.type)
        style['label'] = get_layer_label(layer, rankdir, display_lrm)
        lines.append('  %s %s;' % (_quote(node), _attributes(style)))
        for bottom in layer.bottom:
            blob = 'blob_' + bottom
            if blob not in blob_nodes:
                blob_nodes.add(blob)
                lines.append('  %s %s;' % (_quote(blob), _attributes(dict(BLOB_STYLE, label=bottom))))
            lines.append('  %s -> %s;' % (_quote(blob), _quote(node)))
        for top in layer.top:
            blob = 'blob_' + top
            if in_place:
                continue  # the in-place box reads and writes the same oval
            if blob not in blob_nodes:
                blob_nodes.add(blob)
                lines.append('  %s %s;' % (_quote(blob), _attributes(dict(BLOB_STYLE, label=top))))
            edge_label = get_edge_label(layer) if label_edges else None
            edge = ' %s' % _attributes({'label': edge_label}) if edge_label else ''
            lines.append('  %s -> %s%s;' % (_quote(node), _quote(blob), edge))
    lines.append('}')
    return '\n'.join(lines) + '\n'


def draw_net(caffe_net, rankdir, ext='png', phase=None, display_lrm=False):
    """The rendered diagram as bytes in format `ext` (png, svg, pdf, dot...)."""
    dot_text = get_dot_graph(caffe_net, rankdir, phase=phase, display_lrm=display_lrm)
    if ext == 'dot':
        return dot_text.encode()
    try:
        result = subprocess.run(['dot', '-T' + ext], input=dot_text.encode(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except FileNotFoundError:
        raise RuntimeError('drawing needs the Graphviz `dot` program (Debian: graphviz)')
    if result.returncode != 0:
        raise RuntimeError('dot -T%s failed: %s' % (ext, result.stderr.decode(errors='replace')))
    return result.stdout


def draw_net_to_file(caffe_net, filename, rankdir='LR', phase=None, display_lrm=False):
    """Writes the diagram; the format follows the file extension."""
    ext = filename[filename.rfind('.') + 1:]
    with open(filename, 'wb') as f:
        f.write(draw_net(caffe_net, rankdir, ext, phase, display_lrm))
