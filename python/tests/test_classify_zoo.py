"""python/examples/classify.py --zoo: net, weights, preprocessing and labels
come from a model-zoo entry (fetched from ../shared, standing in for the
servers), and each input's top 5 is printed as `score label` lines."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO

CLASSIFY = os.path.join(REPO, 'python', 'examples', 'classify.py')
SHARED = os.path.join(REPO, '..', 'shared')
MIRRORS = [os.path.join(SHARED, 'zoo'), os.path.join(SHARED, 'conformance')]


@pytest.fixture
def zoo_env(tmp_path):
    if not all(os.path.isdir(m) for m in MIRRORS):
        pytest.skip('../shared/zoo or ../shared/conformance is missing: they are the zoo mirror')
    env = dict(os.environ, CORTADO_ZOO_MIRROR=os.pathsep.join(MIRRORS),
               CORTADO_ZOO_DIR=str(tmp_path / 'zoo'), GLOG_minloglevel='2')
    env.pop('CORTADO_ZOO_SERVER', None)
    return env


def classify(env, *args):
    result = subprocess.run([sys.executable, CLASSIFY] + [str(a) for a in args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    return result.stdout.decode(), result.stderr.decode()


def top_lines(log, name):
    """The (score, label) pairs printed after the line naming input `name`."""
    lines = log.splitlines()
    start = lines.index(str(name)) + 1
    pairs = []
    for line in lines[start:start + 5]:
        score, label = line.split(' ', 1)
        pairs.append((float(score), label))
    return pairs


def labels_of(entry):
    with open(os.path.join(REPO, 'models', entry, 'labels.txt')) as f:
        return [line.strip() for line in f if line.strip()]


def test_cifar10_resnet20_prints_top5_with_labels(zoo_env, tmp_path):
    rng = np.random.RandomState(3)
    pixels = (rng.uniform(0, 1, (40, 48, 3)) * 255).astype(np.uint8)
    image = tmp_path / 'noise.png'
    Image.fromarray(pixels).save(str(image))
    out = tmp_path / 'scores.npy'
    log, err = classify(zoo_env, image, out, '--zoo', 'cifar10_resnet20')
    top = top_lines(log, image)
    assert len(top) == 5
    assert {label for _, label in top} <= set(labels_of('cifar10_resnet20'))
    scores = [score for score, _ in top]
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) <= 1 + 1e-3
    saved = np.load(str(out))
    assert saved.shape == (1, 10)
    np.testing.assert_allclose(sorted(saved[0], reverse=True)[:5], scores, atol=1e-4)


def test_lenet_mnist_reads_a_drawn_one(zoo_env, tmp_path):
    pixels = np.zeros((28, 28), dtype=np.uint8)  # MNIST digits are white on black
    pixels[4:24, 12:16] = 255
    image = tmp_path / 'one.png'
    Image.fromarray(pixels).save(str(image))
    log, _ = classify(zoo_env, image, tmp_path / 'scores.npy', '--zoo', 'lenet_mnist')
    top = top_lines(log, image)
    assert top[0][1] == '1' and top[0][0] > 0.5, log


def test_labels_without_zoo(zoo_env, tmp_path):
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[4:24, 12:16] = 255
    image = tmp_path / 'one.png'
    Image.fromarray(pixels).save(str(image))
    labels = tmp_path / 'names.txt'
    labels.write_text('\n'.join('digit %d' % i for i in range(10)) + '\n')
    weights = os.path.join(SHARED, 'conformance', 'weights', 'lenet_mnist',
                           'lenet_iter_10000.caffemodel')
    log, _ = classify(zoo_env, image, tmp_path / 'scores.npy', '--pretrained_model', weights,
                      '--center_only', '--labels', labels)
    top = top_lines(log, image)
    assert len(top) == 5 and top[0][1] == 'digit 1'


def test_unknown_entry_is_one_clear_error(zoo_env, tmp_path):
    result = subprocess.run([sys.executable, CLASSIFY, 'x.png', str(tmp_path / 's.npy'),
                             '--zoo', 'no_such_model'], env=zoo_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert result.returncode != 0
    assert 'no zoo entry' in result.stderr.decode()
    assert 'Traceback' not in result.stderr.decode()


def test_cifar10_resnet20_knows_the_cat(zoo_env, tmp_path):
    """The readme's preprocessing (BGR, per-channel mean) is what the net needs."""
    from conftest import CAT_JPG
    if not os.path.exists(CAT_JPG):
        pytest.skip('%s is missing' % CAT_JPG)
    log, _ = classify(zoo_env, CAT_JPG, tmp_path / 'scores.npy', '--zoo', 'cifar10_resnet20')
    top = top_lines(log, CAT_JPG)
    assert top[0][1] == 'cat' and top[0][0] > 0.5, top

