"""Runs a pycaffe-style script (python/tests/scripts/lenet_pycaffe_style.py)
unedited, as a separate process with `import caffe`."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from conftest import CONFORMANCE, LENET_WEIGHTS

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'scripts',
                      'lenet_pycaffe_style.py')
BVLC_LENET = os.path.join(CONFORMANCE, 'weights', 'lenet_mnist', 'lenet.prototxt')


def test_pycaffe_style_script_runs_unchanged(tmp_path):
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[4:24, 12:16] = 255  # a "1"
    image = str(tmp_path / 'one.png')
    Image.fromarray(pixels).save(image)
    result = subprocess.run([sys.executable, SCRIPT, BVLC_LENET, LENET_WEIGHTS, image,
                             str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=300)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert 'predicted class is: 1' in out
    assert 'conv1\t(1, 20, 24, 24)' in out
    assert 'ip1\t(500, 800) (500,)' in out
    assert 'after surgery: 1' not in out and 'after surgery:' in out
    assert 'batch predictions: [1, 1, 1, 1, 1]' in out
