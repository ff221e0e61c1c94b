"""python/examples/detect_faces.py finds the faces of a group photo with UltraFace
(RFB-320, slim-320) and MTCNN, from the model-zoo stand-in in ../shared/zoo; the
detectors agree with each other; prior generation and NMS on hand-made cases."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO

EXAMPLES = os.path.join(REPO, 'python', 'examples')
ZOO = os.path.join(REPO, '..', 'shared', 'zoo')
GROUP_1 = os.path.join(ZOO, 'images', 'group_1.jpg')
MODEL_DIRS = {'ultraface-rfb320': 'ultraface', 'ultraface-slim320': 'ultraface',
              'mtcnn': 'mtcnn'}

sys.path.insert(0, EXAMPLES)
import detect_faces  # noqa: E402  (the demo's functions, for the unit tests)

# group_1.jpg (720x478) shows 52 faces (counted by eye on the demo's pictures), 17 to 35
# pixels wide; RFB-320 finds 44 of them, slim-320 47, MTCNN all 52.
FACE_RANGE = (40, 56)


def detect(model, tmp_path_factory, *options):
    if not os.path.isdir(ZOO):
        pytest.skip('no model-zoo stand-in at %s' % os.path.normpath(ZOO))
    out = str(tmp_path_factory.mktemp(model) / 'faces.png')
    result = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, 'detect_faces.py'), GROUP_1, out,
         '--model', model, '--model_dir', os.path.join(ZOO, MODEL_DIRS[model])] + list(options),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    log = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, log
    assert 'ms per image' in result.stderr.decode(), log
    rows = [line.split() for line in result.stdout.decode().splitlines()]
    assert all(len(row) == 5 for row in rows), 'stdout holds only faces:\n' + log
    return np.array(rows, dtype=np.float64).reshape(-1, 5), out


@pytest.fixture(scope='module')
def faces(tmp_path_factory):
    """Each model's detections on group_1.jpg, run once for all tests."""
    return {model: detect(model, tmp_path_factory) for model in MODEL_DIRS}


@pytest.mark.parametrize('model', sorted(MODEL_DIRS))
def test_faces_of_a_group_photo(faces, model):
    rows, picture = faces[model]
    low, high = FACE_RANGE
    assert low <= len(rows) <= high, '%d faces' % len(rows)
    width, height = Image.open(GROUP_1).size
    boxes, scores = rows[:, :4], rows[:, 4]
    assert (boxes >= 0).all() and (boxes[:, [0, 2]] <= width).all()
    assert (boxes[:, [1, 3]] <= height).all()
    sides = boxes[:, 2:] - boxes[:, :2]
    assert (sides > 12).all() and (sides < 45).all(), 'faces here are 17-35 pixels wide'
    assert (np.diff(scores) <= 0).all(), 'sorted by score, best first'
    assert (scores >= 0.7).all() and (scores <= 1).all()
    with Image.open(picture) as drawn:
        assert drawn.size == (width, height)
        assert drawn.mode == 'RGB'


def matched_fraction(a, b, iou=0.4):
    """The share of the boxes of `a` that overlap a box of `b` by at least `iou`."""
    return float((detect_faces.iou_matrix(a, b).max(axis=1) >= iou).mean())


@pytest.mark.parametrize('model, found, recalled', [
    # UltraFace's 320x240 input leaves these faces about 10 pixels wide, its smallest
    # prior: RFB-320 misses 8 of the 52 that MTCNN finds, every face it does find is real.
    ('ultraface-slim320', 0.9, 0.9),
    ('mtcnn', 0.9, 0.75)])
def test_detectors_agree(faces, model, found, recalled):
    """Most faces of RFB-320 are found by `model` too, and the other way round."""
    reference = faces['ultraface-rfb320'][0][:, :4]
    other = faces[model][0][:, :4]
    assert matched_fraction(reference, other) >= found
    assert matched_fraction(other, reference) >= recalled


def test_higher_threshold_keeps_fewer_faces(faces, tmp_path_factory):
    rows, _ = detect('ultraface-rfb320', tmp_path_factory, '--threshold', '0.95')
    everything = faces['ultraface-rfb320'][0]
    assert (rows[:, 4] >= 0.95).all()
    assert len(rows) == (everything[:, 4] >= 0.95).sum()


def test_ultraface_priors():
    priors = detect_faces.ultraface_priors()
    # 40x30 cells x 3 sizes, 20x15 x 2, 10x8 x 2, 5x4 x 3: the rows of the net's outputs.
    assert priors.shape == (40 * 30 * 3 + 20 * 15 * 2 + 10 * 8 * 2 + 5 * 4 * 3, 4) == (4420, 4)
    # Row-major cells, the sizes of one cell next to each other.
    np.testing.assert_allclose(priors[0], [4 / 320, 4 / 240, 10 / 320, 10 / 240])
    np.testing.assert_allclose(priors[2], [4 / 320, 4 / 240, 24 / 320, 24 / 240])
    np.testing.assert_allclose(priors[3, :2], [12 / 320, 4 / 240])
    np.testing.assert_allclose(priors[3 * 40, :2], [4 / 320, 12 / 240])
    np.testing.assert_allclose(priors[3600], [8 / 320, 8 / 240, 32 / 320, 32 / 240])
    # The last map (5x4, stride 64) overhangs 240 rows: its last centre is at 224/240,
    # and its 256-pixel priors are clipped to the input.
    np.testing.assert_allclose(priors[-1], [288 / 320, 224 / 240, 256 / 320, 1.0])
    # Zero regressions give the priors back as corner boxes.
    corners = detect_faces.decode_ultraface(np.zeros((1, 4)), priors[:1])
    np.testing.assert_allclose(corners, [[-1 / 320, -1 / 240, 9 / 320, 9 / 240]])
    # A tiny input: 2x2 cells of stride 8 (16x12 rounds up), one size.
    assert detect_faces.ultraface_priors(16, 12, (8,), ((10,),)).shape == (4, 4)


def test_nms():
    boxes = np.array([[0, 0, 10, 10],     # best
                      [1, 0, 11, 10],     # IoU 9/11 with the best: goes
                      [20, 20, 30, 30],   # apart: stays
                      [0, 0, 4, 4],       # inside the best, IoU 0.16: stays unless 'min'
                      [5, 0, 15, 10]],    # IoU 5/15 = 0.33 with the best
                     dtype=np.float64)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.95])
    assert detect_faces.nms(boxes, scores, 0.5).tolist() == [4, 0, 2, 3]
    assert detect_faces.nms(boxes, scores, 0.3).tolist() == [4, 2, 3]
    # Over the smaller box: 0 overlaps 4 by 0.5 and stays, 1 by 0.6, 3 lies inside 0.
    assert detect_faces.nms(boxes, scores, 0.55, mode='min').tolist() == [4, 0, 2]
    assert detect_faces.nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
    np.testing.assert_allclose(detect_faces.iou_matrix(boxes[:2], boxes[2:])[:, 0], [0, 0])
    assert detect_faces.iou_matrix(boxes[0], boxes[1])[0, 0] == pytest.approx(9 / 11)


def test_mtcnn_pyramid():
    scales = detect_faces.pyramid_scales(100, 60, min_size=20)
    assert scales[0] == pytest.approx(0.6)
    np.testing.assert_allclose(np.diff(np.log(scales)), np.log(0.709))
    assert 60 * scales[-1] >= 12 > 60 * scales[-1] * 0.709
