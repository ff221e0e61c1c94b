"""Classifier and Detector on the BVLC LeNet MNIST weights."""
import numpy as np

import caffe
from conftest import LENET_DEPLOY, LENET_WEIGHTS


def digit_one(size=28):
    """A bright vertical bar on black: MNIST's "1"."""
    image = np.zeros((size, size, 1), dtype=np.float32)
    image[4:size - 4, size // 2 - 2:size // 2 + 2, 0] = 1.0
    return image


def test_classifier_centre_and_oversampled_predictions():
    net = caffe.Classifier(LENET_DEPLOY, LENET_WEIGHTS, image_dims=(32, 32), raw_scale=255,
                           input_scale=1 / 256.0)
    assert isinstance(net, caffe.Net)
    images = [digit_one(32), np.zeros((32, 32, 1), np.float32)]
    centre = net.predict(images, oversample=False)
    assert centre.shape == (2, 10)
    np.testing.assert_allclose(centre.sum(axis=1), 1, rtol=1e-5)
    assert centre[0].argmax() == 1
    over = net.predict(images)
    assert over.shape == (2, 10) and over[0].argmax() == 1
    assert not np.allclose(over, centre)  # ten crops really were averaged


def test_classifier_matches_a_direct_forward():
    clf = caffe.Classifier(LENET_DEPLOY, LENET_WEIGHTS, raw_scale=255, input_scale=1 / 256.0)
    image = digit_one()
    scores = clf.predict([image], oversample=False)
    net = caffe.Net(LENET_DEPLOY, caffe.TEST, weights=LENET_WEIGHTS)
    net.blobs['data'].reshape(1, 1, 28, 28)
    net.blobs['data'].data[0, 0] = image[:, :, 0] * 255 / 256.0
    np.testing.assert_allclose(scores[0], net.forward()['prob'][0], rtol=1e-4, atol=1e-6)


def test_detector_scores_windows():
    det = caffe.Detector(LENET_DEPLOY, LENET_WEIGHTS, raw_scale=255, input_scale=1 / 256.0,
                         context_pad=2)
    image = np.zeros((60, 60, 1), dtype=np.float32)
    image[10:40, 10:40] = digit_one(30)
    windows = np.array([[10, 10, 40, 40], [40, 40, 60, 60]])
    results = det.detect_windows([(image, windows)])
    assert len(results) == 2
    assert results[0]['prediction'].shape == (10,)
    assert results[0]['prediction'].argmax() == 1
    np.testing.assert_array_equal(results[1]['window'], windows[1])
    crop = det.crop(image, windows[0])
    assert crop.shape == (28, 28, 1)
