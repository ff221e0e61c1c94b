"""Coordinate maps between net_spec tops, and crop(top_from, top_to): a Crop
layer that aligns one top with another (FCN-style nets, where an upsampled
score map is cropped back onto the input).

A map (axis, a, b) says that along the spatial axes from `axis` on, the
coordinate of a pixel in one top is a * (its coordinate in another) + b,
pixel centres to pixel centres. a and b are NumPy arrays of one value (all
axes) or one per axis; axis None means the map holds on every axis (layers
that keep the geometry, ReLU or Eltwise, say).
"""
import numpy as np

from .net_spec import layers as L
from .proto import caffe_pb2


class AxisMismatchException(Exception):
    """Two maps along a path start at different axes."""


class UndefinedMapException(Exception):
    """A layer (InnerProduct, Reshape...) whose output has no pixel map."""


# Layer types whose tops keep their bottoms' geometry.
_SAME_GEOMETRY = frozenset([
    'AbsVal', 'BatchNorm', 'Bias', 'BNLL', 'Clip', 'Dropout', 'Eltwise', 'ELU', 'Exp', 'Log',
    'LRN', 'MVN', 'Normalize', 'Power', 'PReLU', 'ReLU', 'Scale', 'Sigmoid', 'Softmax',
    'Split', 'Swish', 'TanH', 'Threshold'])


def _layer_param(fn):
    layer = caffe_pb2.LayerParameter(type=fn.type_name)
    fn._fill_params(layer)
    return layer


def _spatial(values, h, w, default):
    """A repeated kernel/stride/pad field (or its _h/_w pair) as an array."""
    if len(values):
        return np.array(values, dtype=float)
    if h or w:
        return np.array([h, w], dtype=float)
    return np.array([default], dtype=float)


def conv_params(fn):
    """(axis, kernel, stride, pad, dilation) of a Convolution, Deconvolution
    or Pooling call; the spatial axes follow the channel axis."""
    layer = _layer_param(fn)
    if fn.type_name == 'Pooling':
        p = layer.pooling_param
        if p.global_pooling:
            raise UndefinedMapException('global pooling has no pixel map')
        kernel = _spatial([p.kernel_size] if p.kernel_size else [], p.kernel_h, p.kernel_w, 1)
        stride = _spatial([p.stride] if p.HasField('stride') else [], p.stride_h, p.stride_w, 1)
        pad = _spatial([p.pad] if p.pad else [], p.pad_h, p.pad_w, 0)
        return 2, kernel, stride, pad, np.array([1.0])
    p = layer.convolution_param
    return (p.axis + 1, _spatial(p.kernel_size, p.kernel_h, p.kernel_w, 1),
            _spatial(p.stride, p.stride_h, p.stride_w, 1), _spatial(p.pad, p.pad_h, p.pad_w, 0),
            _spatial(p.dilation, 0, 0, 1))


def crop_params(fn):
    """(axis, offsets) of a Crop call."""
    p = _layer_param(fn).crop_param
    return p.axis, np.array(list(p.offset) or [0], dtype=float)


def coord_map(fn):
    """The map from a call's (first) bottom to its top: top = a * bottom + b."""
    kind = fn.type_name
    if kind in ('Convolution', 'Pooling'):
        # Output pixel y is centred on input pixel s*y - p + d*(k-1)/2.
        axis, k, s, p, d = conv_params(fn)
        return axis, 1 / s, (p - d * (k - 1) / 2) / s
    if kind == 'Deconvolution':
        axis, k, s, p, d = conv_params(fn)
        return axis, s, d * (k - 1) / 2 - p
    if kind == 'Crop':
        axis, offset = crop_params(fn)
        return axis, np.array([1.0]), -offset
    if kind in _SAME_GEOMETRY or (kind == 'Concat' and _layer_param(fn).concat_param.axis == 1):
        return None, np.array([1.0]), np.array([0.0])
    raise UndefinedMapException('layer type %s has no pixel coordinate map' % kind)


def compose(inner, outer):
    """The map of `outer` after `inner` (x -> inner -> outer)."""
    axis_in, a_in, b_in = inner
    axis_out, a_out, b_out = outer
    if axis_in is not None and axis_out is not None and axis_in != axis_out:
        raise AxisMismatchException('maps start at axes %d and %d' % (axis_in, axis_out))
    axis = axis_in if axis_in is not None else axis_out
    return axis, a_in * a_out, a_out * b_in + b_out


def inverse(mapping):
    axis, a, b = mapping
    return axis, 1 / a, -b / a


def _ancestors(top):
    """{ancestor top: map from it to `top`}, nearest first. A Crop is
    followed through the top it crops only; layers without a map end a path."""
    maps = {top: (None, np.array([1.0]), np.array([0.0]))}
    order = [top]
    for current in order:
        try:
            step = coord_map(current.fn)
        except UndefinedMapException:
            continue
        inputs = current.fn.inputs[:1] if current.fn.type_name == 'Crop' else current.fn.inputs
        for bottom in inputs:
            if bottom not in maps:
                maps[bottom] = compose(step, maps[current])
                order.append(bottom)
    return [(t, maps[t]) for t in order]


def coord_map_from_to(top_from, top_to):
    """The map (axis, a, b) with coord in top_from = a * coord in top_to + b,
    through their nearest common ancestor."""
    to_maps = dict(_ancestors(top_to))
    for ancestor, from_map in _ancestors(top_from):
        if ancestor in to_maps:
            return compose(inverse(to_maps[ancestor]), from_map)
    raise RuntimeError('the two tops share no ancestor through layers with pixel maps')


def crop(top_from, top_to):
    """A Crop of top_from to top_to's size, aligned pixel for pixel with it
    (the offset follows from the layers between them)."""
    axis, a, b = coord_map_from_to(top_from, top_to)
    if not np.allclose(a, 1):
        raise AxisMismatchException('the tops are at different scales (%s); crop needs scale 1'
                                    % a.tolist())
    offset = np.round(b).astype(int)
    if not np.allclose(b, offset, atol=1e-6) or (offset < 0).any():
        raise ValueError('the tops are misaligned by %s pixels; a crop needs a whole, '
                         'non-negative offset' % b.tolist())
    return L.Crop(top_from, top_to,
                  crop_param=dict(axis=2 if axis is None else int(axis),
                                  offset=[int(o) for o in offset]))
