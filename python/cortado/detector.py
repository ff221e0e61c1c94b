"""Detector: a Net that scores image windows (R-CNN style): crops each
window, optionally with context padding, and runs the crops through the net."""
import numpy as np

from . import io
from ._cortado import TEST
from .pycaffe import Net


class Detector(Net):
    """Arguments as for Classifier, plus context_pad: pixels of context to
    add around each window, scaled to the net's input size."""

    def __init__(self, model_file, pretrained_file, mean=None, input_scale=None,
                 raw_scale=None, channel_swap=None, context_pad=None):
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
        self.configure_crop(context_pad)

    def detect_windows(self, images_windows):
        """images_windows: [(filename or H x W x K image, windows N x 4 of
        ymin, xmin, ymax, xmax)]. Returns one dict per window with the
        `window`, its `prediction` (output vector) and `filename`."""
        crops, meta = [], []
        for source, windows in images_windows:
            image = io.load_image(source).astype(np.float32) if isinstance(source, str) \
                else np.asarray(source, dtype=np.float32)
            for window in windows:
                crops.append(self.crop(image, window))
                meta.append((source if isinstance(source, str) else None, window))
        in_ = self.inputs[0]
        batch = np.array([self.transformer.preprocess(in_, crop) for crop in crops])
        scores = self.forward_all(**{in_: batch})[self.outputs[0]]
        scores = scores.reshape(len(scores), -1)
        return [{'window': window, 'prediction': scores[i], 'filename': name}
                for i, (name, window) in enumerate(meta)]

    def detect_selective_search(self, image_fnames):
        raise NotImplementedError(
            'detect_selective_search needs the external selective_search_ijcv_with_python '
            'package; compute windows yourself and call detect_windows')

    def crop(self, im, window):
        """The window (ymin, xmin, ymax, xmax) of im, widened by the context
        padding and resized to the net input; out-of-image context is the mean."""
        window = np.asarray(window, dtype=int)
        if not self.context_pad:
            crop = im[window[0]:window[2], window[1]:window[3]]
            return io.resize_image(crop, self.crop_dims)
        # Widen the box so that, once resized to crop_dims, context_pad pixels
        # of context surround the original window.
        box = window.astype(np.float32)
        scale = self.crop_dims[0] / (self.crop_dims[0] - 2.0 * self.context_pad)
        half = (box[2:] - box[:2]) / 2.0
        centre = box[:2] + half
        box = np.concatenate([centre - half * scale, centre + half * scale]).round().astype(int)
        out = np.empty((box[2] - box[0], box[3] - box[1], im.shape[2]), dtype=np.float32)
        out[...] = self.crop_mean
        clip = np.clip(box, 0, [im.shape[0], im.shape[1], im.shape[0], im.shape[1]])
        out[clip[0] - box[0]:clip[2] - box[0], clip[1] - box[1]:clip[3] - box[1]] = \
            im[clip[0]:clip[2], clip[1]:clip[3]]
        return io.resize_image(out, self.crop_dims)

    def configure_crop(self, context_pad):
        """Sets the context padding and the fill value for context outside the
        image (the mean, in raw image units, when a mean is set)."""
        in_ = self.inputs[0]
        self.crop_dims = np.array(self.blobs[in_].data.shape[2:])
        self.context_pad = context_pad or 0
        channels = self.blobs[in_].data.shape[1]
        self.crop_mean = np.zeros(channels, dtype=np.float32)
        if self.context_pad and in_ in self.transformer.mean:
            mean = self.transformer.mean[in_].reshape(channels, -1).mean(axis=1)
            if in_ in self.transformer.raw_scale:
                mean = mean / self.transformer.raw_scale[in_]
            if in_ in self.transformer.channel_swap:
                mean = mean[np.argsort(self.transformer.channel_swap[in_])]
            self.crop_mean = mean
