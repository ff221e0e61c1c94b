#!/usr/bin/env python3
"""examples/cpp_classification against classify.py: both classify cat.jpg and
a synthetic PNG with cifar10_resnet20 (fetched from the ../shared mirrors into
a temporary zoo folder) under the same preprocessing, and must print five
`score label` lines per image with the same top-1; on the PNG, which both
decode identically, the scores agree too. Exits 77 (skipped) without ../shared.

Usage: cpp_classification_test.py CLASSIFICATION_BINARY BUILD_PYTHON_DIR
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
SHARED = os.path.join(REPO, '..', 'shared')
MIRRORS = [os.path.join(SHARED, 'zoo'), os.path.join(SHARED, 'conformance')]
CAT = os.path.join(SHARED, 'conformance', 'bvlc', 'examples', 'images', 'cat.jpg')
ENTRY = 'cifar10_resnet20'
SKIPPED = 77


def run(command, env):
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=600)
    if result.returncode != 0:
        sys.exit('FAILED: %s\n%s%s' % (' '.join(command), result.stdout, result.stderr))
    return result.stdout


def top_lines(log, name):
    """The (score, label) lines printed after the line naming the input."""
    lines = log.splitlines()
    start = lines.index(name) + 1
    return [(float(line.split(' ', 1)[0]), line.split(' ', 1)[1])
            for line in lines[start:start + 5]]


def check(condition, message):
    if not condition:
        sys.exit('FAILED: ' + message)


def main():
    program, python_tree = sys.argv[1], sys.argv[2]
    if not all(os.path.isdir(m) for m in MIRRORS + [os.path.dirname(CAT)]):
        print('skipped: ../shared (the zoo mirror and cat.jpg) is missing')
        return SKIPPED
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=python_tree, CORTADO_ZOO_DIR=os.path.join(tmp, 'zoo'),
                   CORTADO_ZOO_MIRROR=os.pathsep.join(MIRRORS), GLOG_minloglevel='2')
        fetch = [sys.executable, '-m', 'cortado.zoo', 'fetch', ENTRY, '--quiet']
        for mirror in MIRRORS:
            fetch += ['--mirror', mirror]
        run(fetch, env)
        folder = os.path.join(tmp, 'zoo', ENTRY)
        labels_file = os.path.join(REPO, 'models', ENTRY, 'labels.txt')
        with open(labels_file) as f:
            labels = [line.strip() for line in f if line.strip()]

        # Smooth colour ramps plus noise, not the net's size, so both resize.
        y, x = np.mgrid[0:45, 0:37]
        ramps = np.stack([x * 6, y * 5, (x + y) * 3], axis=-1)
        noise = np.random.RandomState(5).uniform(0, 40, ramps.shape)
        synthetic = os.path.join(tmp, 'synthetic.png')
        Image.fromarray(np.clip(ramps + noise, 0, 255).astype(np.uint8)).save(synthetic)

        # classify.py --zoo takes the readme's preprocessing (BGR, raw_scale 255, the
        # per-channel CIFAR-10 mean, scale 1); the C++ program gets the same by flags.
        cpp_log = run([program, os.path.join(folder, 'deploy.prototxt'),
                       os.path.join(folder, 'cifar10_res20_iter_64000.caffemodel'),
                       CAT, synthetic, '--labels', labels_file, '--mean=113.9,123.0,125.3'], env)
        check(top_lines(cpp_log, CAT)[0][1] == 'cat', 'cat.jpg is not a cat: %s'
              % top_lines(cpp_log, CAT))
        print(cpp_log)
        for image in (CAT, synthetic):
            scores_file = os.path.join(tmp, 'scores.npy')
            py_log = run([sys.executable, os.path.join(REPO, 'python', 'examples', 'classify.py'),
                          image, scores_file, '--zoo', ENTRY], env)
            py_scores = np.load(scores_file)[0]
            cpp_top, py_top = top_lines(cpp_log, image), top_lines(py_log, image)
            name = os.path.basename(image)
            check(len(cpp_top) == 5, '%s: %d lines, not 5' % (name, len(cpp_top)))
            check(all(label in labels for _, label in cpp_top),
                  '%s: labels not from %s: %s' % (name, labels_file, cpp_top))
            scores = [score for score, _ in cpp_top]
            check(scores == sorted(scores, reverse=True), '%s: not descending' % name)
            check(cpp_top[0][1] == py_top[0][1], '%s: top-1 %s (C++) but %s (classify.py)'
                  % (name, cpp_top[0][1], py_top[0][1]))
            if image == synthetic:
                for score, label in cpp_top:
                    expected = py_scores[labels.index(label)]
                    check(abs(score - expected) < 2e-3, '%s: %s scores %.4f (C++) but %.4f '
                          '(classify.py)' % (name, label, score, expected))

        missing = subprocess.run([program, os.path.join(folder, 'deploy.prototxt'),
                                  os.path.join(folder, 'cifar10_res20_iter_64000.caffemodel'),
                                  os.path.join(tmp, 'no_such.png')], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True, timeout=600)
        check(missing.returncode != 0 and 'no_such.png' in missing.stderr
              and len(missing.stderr.strip().splitlines()) == 1,
              'a missing image should be one error line: %r' % missing.stderr)
    print('ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
