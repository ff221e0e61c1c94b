"""Classifier: a Net that takes H x W x K images and returns class scores,
averaging over ten crops when oversampling."""
import numpy as np

from . import io
from ._cortado import TEST
from .pycaffe import Net


class Classifier(Net):
    """model_file/pretrained_file: deploy prototxt and weights. image_dims:
    size images are resized to before cropping (default: the net's input
    size). mean, input_scale, raw_scale, channel_swap: as in io.Transformer."""

    def __init__(self, model_file, pretrained_file, image_dims=None, mean=None,
                 input_scale=None, raw_scale=None, channel_swap=None):
        Net.__init__(self, model_file, TEST, weights=pretrained_file)
        in_ = self.inputs[0]
        self.transformer = io.Transformer({in_: self.blobs[in_].data.shape})
        self.transformer.set_transpose(in_, (2, 0, 1))
        if mean is not None:
            self.transformer.set_mean(in_, mean)
        if input_scale is not None:
            self.transformer.set_input_scale(in_, input_scale)
        if raw_scale is not None:
            self.transformer.set_raw_scale(in_, raw_scale)
        if channel_swap is not None:
            self.transformer.set_channel_swap(in_, channel_swap)
        self.crop_dims = np.array(self.blobs[in_].data.shape[2:])
        self.image_dims = self.crop_dims if image_dims is None else np.array(image_dims)

    def predict(self, inputs, oversample=True):
        """Class scores (N x classes) for a list of H x W x K images; with
        oversample, each is the mean over the ten io.oversample crops,
        otherwise the centre crop alone is used."""
        inputs = list(inputs)
        channels = inputs[0].shape[2]
        resized = np.zeros((len(inputs), int(self.image_dims[0]), int(self.image_dims[1]),
                            channels), dtype=np.float32)
        for i, image in enumerate(inputs):
            resized[i] = io.resize_image(image, self.image_dims)
        if oversample:
            crops = io.oversample(resized, self.crop_dims)
        else:
            offset = ((self.image_dims - self.crop_dims) / 2.0).astype(int)
            crops = resized[:, offset[0]:offset[0] + self.crop_dims[0],
                            offset[1]:offset[1] + self.crop_dims[1], :]
        in_ = self.inputs[0]
        batch = np.array([self.transformer.preprocess(in_, crop) for crop in crops])
        scores = self.forward_all(**{in_: batch})[self.outputs[0]]
        scores = scores.reshape(len(scores), -1)
        if oversample:
            scores = scores.reshape(len(inputs), 10, -1).mean(axis=1)
        return scores
