"""The examples in python/examples run end to end: feature extraction from
the Fashion-MNIST test LMDB and image classification."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import LENET_WEIGHTS, REPO

EXAMPLES = os.path.join(REPO, 'python', 'examples')
TEST_LMDB = os.path.join(REPO, 'data', 'fashion_mnist', 'fashion_mnist_test_lmdb')


def run(*args):
    result = subprocess.run([sys.executable] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=600)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    return result.stdout.decode()


def extract(tmp_path, name, batch_size, limit, blob='ip1'):
    out = str(tmp_path / name)
    log = run(os.path.join(EXAMPLES, 'extract_features.py'), '--weights', LENET_WEIGHTS,
              '--source', TEST_LMDB, '--blob', blob, '--batch_size', str(batch_size),
              '--limit', str(limit), '--out', out)
    assert 'of %d images' % limit in log
    return np.load(out), np.load(out.replace('.npy', '_labels.npy'))


def test_extract_features_is_independent_of_batch_size(tmp_path):
    assert os.path.isdir(TEST_LMDB), 'run data/get_fashion_mnist.sh first (setup.sh does)'
    features, labels = extract(tmp_path, 'a.npy', 100, 250)
    assert features.shape == (250, 500) and labels.shape == (250,)
    assert features.min() >= 0  # ip1 after LeNet's in-place ReLU
    assert set(labels.tolist()) <= set(range(10)) and len(set(labels.tolist())) > 5
    again, again_labels = extract(tmp_path, 'b.npy', 64, 250)
    np.testing.assert_array_equal(again_labels, labels)
    np.testing.assert_allclose(again, features, rtol=1e-5, atol=1e-5)


def test_classify_images_and_npy(tmp_path):
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[4:24, 12:16] = 255
    Image.fromarray(pixels).save(str(tmp_path / 'one.png'))
    out = str(tmp_path / 'scores.npy')
    log = run(os.path.join(EXAMPLES, 'classify.py'), str(tmp_path / 'one.png'), out,
              '--pretrained_model', LENET_WEIGHTS, '--center_only')
    assert 'Classifying 1 inputs.' in log
    scores = np.load(out)
    assert scores.shape == (1, 10) and scores[0].argmax() == 1
    images = np.stack([pixels, pixels.T]).astype(np.float32)[..., np.newaxis] / 255.0
    np.save(str(tmp_path / 'images.npy'), images)
    run(os.path.join(EXAMPLES, 'classify.py'), str(tmp_path / 'images.npy'), out,
        '--pretrained_model', LENET_WEIGHTS)
    scores = np.load(out)
    assert scores.shape == (2, 10) and scores[0].argmax() == 1
    np.testing.assert_allclose(scores.sum(axis=1), 1, rtol=1e-4)
