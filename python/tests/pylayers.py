"""Python layers used by test_python_layer.py (and by `cortado train` there):
imported by module name, as prototxt python_param { module: "pylayers" }."""
import json

import numpy as np

import caffe


class EuclideanLossLayer(caffe.Layer):
    """loss = sum((a - b)^2) / (2 N), the classic pycaffe example."""

    def setup(self, bottom, top):
        if len(bottom) != 2:
            raise ValueError('EuclideanLossLayer needs two bottoms')

    def reshape(self, bottom, top):
        if bottom[0].count != bottom[1].count:
            raise ValueError('inputs must have the same count')
        self.difference = np.zeros_like(bottom[0].data)
        top[0].reshape(1)

    def forward(self, bottom, top):
        self.difference[...] = bottom[0].data - bottom[1].data
        top[0].data[...] = np.sum(self.difference ** 2) / bottom[0].num / 2.0

    def backward(self, top, propagate_down, bottom):
        for i, sign in ((0, 1), (1, -1)):
            if propagate_down[i]:
                bottom[i].diff[...] = sign * top[0].diff * self.difference / bottom[i].num


class ScaleByParamLayer(caffe.Layer):
    """top = factor * bottom, factor read from param_str (JSON)."""

    def setup(self, bottom, top):
        self.factor = json.loads(self.param_str)['factor']
        self.seen_phase = self.phase

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = self.factor * bottom[0].data

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            bottom[0].diff[...] = self.factor * top[0].diff


class FailingLayer(caffe.Layer):
    def reshape(self, bottom, top):
        top[0].reshape(1)

    def forward(self, bottom, top):
        raise ZeroDivisionError('deliberate failure in forward')


class SeparableDataLayer(caffe.Layer):
    """Tops: 8-d points and labels of 3 classes, class k lighting feature k."""

    def setup(self, bottom, top):
        self.rng = np.random.RandomState(0)
        self.batch = 12

    def reshape(self, bottom, top):
        top[0].reshape(self.batch, 8)
        top[1].reshape(self.batch)

    def forward(self, bottom, top):
        labels = self.rng.randint(0, 3, self.batch)
        data = self.rng.randn(self.batch, 8) * 0.1
        data[np.arange(self.batch), labels] += 1.0
        top[0].data[...] = data
        top[1].data[...] = labels


class LearnedScaleLayer(caffe.Layer):
    """top = w * bottom + b, w and b learnable parameter blobs of one element
    each (a pycaffe layer with parameters); param_str gives their start."""

    def setup(self, bottom, top):
        start = json.loads(self.param_str or '{}')
        self.blobs.add_blob(1)
        self.blobs.add_blob(1)
        self.blobs[0].data[...] = start.get('w', 1.0)
        self.blobs[1].data[...] = start.get('b', 0.0)

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = self.blobs[0].data[0] * bottom[0].data + self.blobs[1].data[0]

    def backward(self, top, propagate_down, bottom):
        # Parameter gradients accumulate, as for every Caffe layer.
        self.blobs[0].diff[0] += np.sum(top[0].diff * bottom[0].data)
        self.blobs[1].diff[0] += np.sum(top[0].diff)
        if propagate_down[0]:
            bottom[0].diff[...] = self.blobs[0].data[0] * top[0].diff


class LateBlobLayer(caffe.Layer):
    """Adds a parameter blob outside setup(), which must be refused."""

    def reshape(self, bottom, top):
        self.blobs.add_blob(2)
        top[0].reshape(1)

    def forward(self, bottom, top):
        pass


class OneParameterLayer(caffe.Layer):
    """A bottomless layer whose top is its one parameter, with gradient 1."""

    def setup(self, bottom, top):
        self.blobs.add_blob(1)

    def reshape(self, bottom, top):
        top[0].reshape(1)

    def forward(self, bottom, top):
        top[0].data[...] = self.blobs[0].data

    def backward(self, top, propagate_down, bottom):
        self.blobs[0].diff[0] = 1


class LinearTargetsLayer(caffe.Layer):
    """Tops: x (16 x 3, random) and target = 3 x - 1, for fitting LearnedScaleLayer."""

    def setup(self, bottom, top):
        self.rng = np.random.RandomState(1)

    def reshape(self, bottom, top):
        top[0].reshape(16, 3)
        top[1].reshape(16, 3)

    def forward(self, bottom, top):
        x = self.rng.randn(16, 3)
        top[0].data[...] = x
        top[1].data[...] = 3 * x - 1


class SettableDataLayer(caffe.Layer):
    """A data layer fed through its own method, set_data(array), called on
    net.layers[i] as pycaffe scripts do."""

    def setup(self, bottom, top):
        self.batch = np.zeros((2, 3), np.float32)
        self.calls = 0

    def set_data(self, array):
        self.batch = np.asarray(array, np.float32)
        self.calls += 1

    def reshape(self, bottom, top):
        top[0].reshape(*self.batch.shape)

    def forward(self, bottom, top):
        top[0].data[...] = self.batch
