#!/usr/bin/env python3
"""Finds faces in a photo with UltraFace (RFB-320 or slim-320) or the MTCNN cascade,
draws them into OUT.png and prints one line per face, best first:

    x1 y1 x2 y2 score          (pixels of the original image)

    PYTHONPATH=build/python python3 python/examples/detect_faces.py photo.jpg faces.png
    PYTHONPATH=build/python python3 python/examples/detect_faces.py photo.jpg faces.png \\
        --model mtcnn --model_dir ../shared/zoo/mtcnn

Without --model_dir the files come from the model zoo (cortado.zoo.ensure, which reads
the mirrors in $CORTADO_ZOO_MIRROR when the files are not there yet). Only the faces go
to stdout; the timing and Cortado's logs go to stderr.
"""
import argparse
import functools
import math
import os
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageOps

import caffe

# --- Boxes ----------------------------------------------------------------------
# Boxes are float arrays of rows (x1, y1, x2, y2) in continuous pixel coordinates:
# a box covering pixel columns 0..9 runs from x1 = 0 to x2 = 10.


def box_areas(boxes):
    return (np.maximum(boxes[:, 2] - boxes[:, 0], 0) *
            np.maximum(boxes[:, 3] - boxes[:, 1], 0))


def nms(boxes, scores, threshold, mode='union'):
    """Greedy (hard) non-maximum suppression: the indices of the boxes kept, best
    score first. A box goes when its overlap with a kept one exceeds `threshold`;
    overlap is intersection over union, or over the smaller area with mode='min'
    (MTCNN's last step, which removes a small box lying inside a bigger one)."""
    order = np.argsort(-np.asarray(scores), kind='stable')
    areas = box_areas(boxes)
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        width = (np.minimum(boxes[best, 2], boxes[rest, 2]) -
                 np.maximum(boxes[best, 0], boxes[rest, 0]))
        height = (np.minimum(boxes[best, 3], boxes[rest, 3]) -
                  np.maximum(boxes[best, 1], boxes[rest, 1]))
        inter = np.maximum(width, 0) * np.maximum(height, 0)
        if mode == 'min':
            denominator = np.minimum(areas[best], areas[rest])
        else:
            denominator = areas[best] + areas[rest] - inter
        overlap = inter / np.maximum(denominator, 1e-12)
        order = rest[overlap <= threshold]
    return np.array(keep, dtype=np.int64)


def iou_matrix(a, b):
    """Intersection over union of every box of `a` with every box of `b`."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(width, 0) * np.maximum(height, 0)
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - inter
    return inter / np.maximum(union, 1e-12)


# --- UltraFace ------------------------------------------------------------------
# Facts of the original project (Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB):
# SSD-style priors on four feature maps, a 320x240 RGB input scaled (x - 127) / 128.

ULTRAFACE_INPUT = (320, 240)   # width, height
ULTRAFACE_STRIDES = (8, 16, 32, 64)
ULTRAFACE_MIN_SIZES = ((10, 16, 24), (32, 48), (64, 96), (128, 192, 256))
CENTER_VARIANCE, SIZE_VARIANCE = 0.1, 0.2


def ultraface_priors(width=ULTRAFACE_INPUT[0], height=ULTRAFACE_INPUT[1],
                     strides=ULTRAFACE_STRIDES, min_sizes=ULTRAFACE_MIN_SIZES):
    """The priors as rows (cx, cy, w, h), normalised to the input, in the order of the
    net's output rows: feature map by feature map, then row, column and prior size."""
    rows = []
    for stride, sizes in zip(strides, min_sizes):
        map_w, map_h = math.ceil(width / stride), math.ceil(height / stride)
        cy, cx = np.meshgrid((np.arange(map_h) + 0.5) * stride / height,
                             (np.arange(map_w) + 0.5) * stride / width, indexing='ij')
        sizes = np.asarray(sizes, np.float64)
        grid = np.empty((map_h, map_w, len(sizes), 4))
        grid[..., 0] = cx[..., None]
        grid[..., 1] = cy[..., None]
        grid[..., 2] = sizes / width
        grid[..., 3] = sizes / height
        rows.append(grid.reshape(-1, 4))
    return np.clip(np.concatenate(rows), 0.0, 1.0)


def decode_ultraface(locations, priors):
    """SSD box decoding: regressions (dcx, dcy, dw, dh) against the priors -> corner
    boxes normalised to the input."""
    centers = priors[:, :2] + locations[:, :2] * CENTER_VARIANCE * priors[:, 2:]
    sizes = priors[:, 2:] * np.exp(locations[:, 2:] * SIZE_VARIANCE)
    return np.hstack([centers - sizes / 2, centers + sizes / 2])


class UltraFace:
    def __init__(self, prototxt, weights):
        self.net = caffe.Net(prototxt, weights, caffe.TEST)
        for name in ('boxes', 'scores'):
            if name not in self.net.outputs:
                raise SystemExit('%s: no output blob %r (outputs: %s)'
                                 % (prototxt, name, ', '.join(self.net.outputs)))
        width, height = ULTRAFACE_INPUT
        self.input = self.net.inputs[0]
        shape = tuple(self.net.blobs[self.input].data.shape)
        if shape != (1, 3, height, width):
            raise SystemExit('%s: input %r is %s, expected 1x3x%dx%d'
                             % (prototxt, self.input, shape, height, width))
        self.priors = ultraface_priors()
        for name, columns in (('boxes', 4), ('scores', 2)):
            blob_shape = tuple(self.net.blobs[name].data.shape)
            if blob_shape != (1, len(self.priors), columns):
                raise SystemExit('%s: output %r is %s, expected (1, %d, %d): one row per prior'
                                 % (prototxt, name, blob_shape, len(self.priors), columns))

    def detect(self, image, threshold, nms_threshold):
        """Faces as (boxes in image pixels, scores, no landmarks), best first."""
        pixels = np.asarray(image.resize(ULTRAFACE_INPUT, Image.BILINEAR), np.float32)
        self.net.blobs[self.input].data[0] = (pixels.transpose(2, 0, 1) - 127.0) / 128.0
        out = self.net.forward()
        scores = out['scores'][0, :, 1]
        passed = np.nonzero(scores > threshold)[0]
        boxes = decode_ultraface(out['boxes'][0, passed].astype(np.float64), self.priors[passed])
        boxes *= [image.width, image.height, image.width, image.height]
        keep = nms(boxes, scores[passed], nms_threshold)
        return boxes[keep], scores[passed][keep], None


# --- MTCNN ----------------------------------------------------------------------
# The cascade of Zhang et al. 2016 (kpzhang93/MTCNN_face_detection_alignment). Its nets
# were trained in MATLAB Caffe, which sees an image transposed: a crop goes in as
# C x W x H, so P-Net's score map comes back indexed [x, y]. Regressions and landmarks
# are in image coordinates (dx1, dy1, dx2, dy2; x1..x5 then y1..y5).

MTCNN_SCALE_FACTOR = 0.709
MTCNN_THRESHOLDS = (0.6, 0.7)     # P-Net, R-Net; O-Net's is --threshold
MTCNN_BATCH = 128                 # crops per R-Net/O-Net forward


def mtcnn_input(pixels):
    """H x W x 3 RGB (0..255) -> the nets' C x W x H input, scaled (x - 127.5) / 128."""
    return (pixels.astype(np.float32).transpose(2, 1, 0) - 127.5) * 0.0078125


def pyramid_scales(width, height, min_size, factor=MTCNN_SCALE_FACTOR):
    """Scales at which a face of min_size pixels fills P-Net's 12x12 window, and smaller
    ones while the image still covers one window."""
    scales = []
    scale = 12.0 / min_size
    while min(width, height) * scale >= 12:
        scales.append(scale)
        scale *= factor
    return scales


def apply_regression(boxes, offsets):
    """Moves each side by its offset times the box's width or height."""
    sizes = np.hstack([boxes[:, 2:4] - boxes[:, 0:2]] * 2)
    return boxes + offsets * sizes


def squared(boxes):
    """Squares around the same centres, as wide as each box's longer side."""
    centers = (boxes[:, 0:2] + boxes[:, 2:4]) / 2
    half = np.max(boxes[:, 2:4] - boxes[:, 0:2], axis=1, keepdims=True) / 2
    return np.hstack([centers - half, centers + half])


class Mtcnn:
    def __init__(self, files):
        self.pnet, self.rnet, self.onet = (
            caffe.Net(files['det%d.prototxt' % i], files['det%d.caffemodel' % i], caffe.TEST)
            for i in (1, 2, 3))
        for net, outputs in ((self.pnet, ('prob1', 'conv4-2')),
                             (self.rnet, ('prob1', 'conv5-2')),
                             (self.onet, ('prob1', 'conv6-2', 'conv6-3'))):
            missing = set(outputs) - set(net.outputs)
            if missing:
                raise SystemExit('MTCNN net without outputs %s (has %s)'
                                 % (', '.join(sorted(missing)), ', '.join(net.outputs)))

    @staticmethod
    def run(net, inputs):
        net.blobs['data'].reshape(*inputs.shape)
        net.reshape()
        net.blobs['data'].data[...] = inputs
        return net.forward()

    def proposals(self, image, min_size):
        """Stage 1: P-Net over the pyramid; 12x12 windows, stride 2, per scale."""
        found = []
        for scale in pyramid_scales(image.width, image.height, min_size):
            size = (math.ceil(image.width * scale), math.ceil(image.height * scale))
            pixels = np.asarray(image.resize(size, Image.BILINEAR))
            out = self.run(self.pnet, mtcnn_input(pixels)[np.newaxis])
            scores = out['prob1'][0, 1]                     # [x, y]
            xs, ys = np.nonzero(scores >= MTCNN_THRESHOLDS[0])
            if xs.size == 0:
                continue
            corners = np.stack([xs, ys], axis=1) * 2.0
            boxes = np.hstack([corners, corners + 12]) / scale
            offsets = out['conv4-2'][0][:, xs, ys].T
            keep = nms(boxes, scores[xs, ys], 0.5)
            found.append((boxes[keep], scores[xs, ys][keep], offsets[keep]))
        if not found:
            return np.zeros((0, 4))
        boxes, scores, offsets = (np.concatenate(part) for part in zip(*found))
        keep = nms(boxes, scores, 0.7)
        return squared(apply_regression(boxes[keep], offsets[keep]))

    def refine(self, net, image, boxes, side):
        """Crops the (rounded) boxes, zero beyond the image, resized to side x side, and
        runs them through `net` in batches; returns the rounded boxes and the outputs."""
        boxes = np.round(boxes)
        crops = np.empty((len(boxes), 3, side, side), np.float32)
        for i, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
            crop = image.crop((x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)))
            crops[i] = mtcnn_input(np.asarray(crop.resize((side, side), Image.BILINEAR)))
        parts = [{k: v.copy() for k, v in self.run(net, crops[i:i + MTCNN_BATCH]).items()}
                 for i in range(0, len(crops), MTCNN_BATCH)]
        return boxes, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def detect(self, image, threshold, nms_threshold, min_size):
        """Faces as (boxes, scores, landmarks (N x 5 x 2)), best first."""
        none = np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
        boxes = self.proposals(image, min_size)
        if len(boxes) == 0:
            return none
        # Stage 2: R-Net rejects and refines on 24x24 crops.
        boxes, out = self.refine(self.rnet, image, boxes, 24)
        scores = out['prob1'][:, 1]
        passed = scores > MTCNN_THRESHOLDS[1]
        boxes, scores, offsets = boxes[passed], scores[passed], out['conv5-2'][passed]
        if len(boxes) == 0:
            return none
        keep = nms(boxes, scores, 0.7)
        boxes = squared(apply_regression(boxes[keep], offsets[keep]))
        # Stage 3: O-Net on 48x48 crops, with the five landmarks.
        boxes, out = self.refine(self.onet, image, boxes, 48)
        scores = out['prob1'][:, 1]
        passed = scores > threshold
        boxes, scores = boxes[passed], scores[passed]
        offsets, points = out['conv6-2'][passed], out['conv6-3'][passed]
        sizes = boxes[:, 2:4] - boxes[:, 0:2]
        landmarks = np.stack([boxes[:, None, 0] + points[:, 0:5] * sizes[:, None, 0],
                              boxes[:, None, 1] + points[:, 5:10] * sizes[:, None, 1]], axis=2)
        boxes = apply_regression(boxes, offsets)
        keep = nms(boxes, scores, nms_threshold, mode='min')
        return boxes[keep], scores[keep], landmarks[keep]


# --- Files, drawing, main ---------------------------------------------------------

MODELS = {
    # --model: (zoo entry, prototxt names accepted in --model_dir, weights)
    'ultraface-rfb320': ('ultraface_rfb320', ('deploy.prototxt', 'RFB-320.prototxt'),
                         'RFB-320.caffemodel'),
    'ultraface-slim320': ('ultraface_slim320', ('deploy.prototxt', 'slim-320.prototxt'),
                          'slim-320.caffemodel'),
    'mtcnn': ('mtcnn', None, None),
}


def model_files(model, model_dir):
    """{local name: path} of the model's files, from model_dir or the zoo."""
    entry, prototxts, weights = MODELS[model]
    if model_dir:
        files = {name: os.path.join(model_dir, name) for name in os.listdir(model_dir)}
    else:
        from cortado import zoo
        files = zoo.ensure(entry)
    if model == 'mtcnn':
        needed = ['det%d.%s' % (i, ext) for i in (1, 2, 3) for ext in ('prototxt', 'caffemodel')]
    else:
        prototxt = next((files[name] for name in prototxts if name in files), None)
        if prototxt is None:
            raise SystemExit('%s: no %s' % (model_dir or entry, ' or '.join(prototxts)))
        files['prototxt'] = prototxt
        needed = [weights]
    missing = [name for name in needed if name not in files]
    if missing:
        raise SystemExit('%s: missing %s' % (model_dir or entry, ', '.join(missing)))
    return files


def draw(image, boxes, landmarks):
    picture = image.copy()
    pen = ImageDraw.Draw(picture)
    width = max(2, round(min(image.size) / 300))
    for box in boxes:
        pen.rectangle([float(v) for v in box], outline=(0, 255, 0), width=width)
    for box, points in zip(boxes, landmarks if landmarks is not None else []):
        radius = max(1.0, (box[2] - box[0]) / 25)
        for x, y in points:
            pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(255, 0, 0))
    return picture


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('image')
    parser.add_argument('output', help='the picture with the faces drawn (.png)')
    parser.add_argument('--model', choices=sorted(MODELS), default='ultraface-rfb320')
    parser.add_argument('--model_dir', help='take the model files from here, not the zoo')
    parser.add_argument('--threshold', type=float,
                        help='lowest face score (UltraFace 0.7; MTCNN: O-Net\'s, 0.7; '
                             'P-Net and R-Net keep 0.6 and 0.7)')
    parser.add_argument('--nms', type=float,
                        help='overlap above which the weaker of two faces goes (UltraFace: '
                             'IoU 0.3; MTCNN: intersection over the smaller box, 0.7)')
    parser.add_argument('--min_size', type=float, default=20,
                        help='MTCNN: smallest face searched for, in pixels')
    parser.add_argument('--gpu', type=int, help='run on this CUDA device')
    parser.add_argument('--repeat', type=int, default=1,
                        help='time this many detections after an untimed one, report the median')
    args = parser.parse_args()

    if args.gpu is not None:
        caffe.set_device(args.gpu)
        caffe.set_mode_gpu()
    files = model_files(args.model, args.model_dir)
    image = ImageOps.exif_transpose(Image.open(args.image)).convert('RGB')
    threshold = 0.7 if args.threshold is None else args.threshold
    if args.model == 'mtcnn':
        detector = Mtcnn(files)
        nms_threshold = 0.7 if args.nms is None else args.nms
        detect = functools.partial(detector.detect, image, threshold, nms_threshold,
                                   args.min_size)
    else:
        weights = files[MODELS[args.model][2]]
        detector = UltraFace(files['prototxt'], weights)
        nms_threshold = 0.3 if args.nms is None else args.nms
        detect = functools.partial(detector.detect, image, threshold, nms_threshold)

    # The first detection also pays for allocating the nets' memory; with --repeat it
    # runs untimed and the median of the next ones is reported.
    repeat = max(args.repeat, 1)
    times = []
    for _ in range(repeat + (repeat > 1)):
        start = time.perf_counter()
        boxes, scores, landmarks = detect()
        times.append(time.perf_counter() - start)
    times = times[1:] if repeat > 1 else times
    # Boxes may reach past the edges (MTCNN squares them); report the visible part.
    boxes = np.clip(boxes, 0, [image.width, image.height] * 2)
    print('%s: %d faces in %dx%d %s, %.1f ms per image (forward + decode%s)'
          % (args.model, len(boxes), image.width, image.height, args.image,
             1000 * float(np.median(times)),
             ', median of %d after a warm-up' % repeat if repeat > 1 else ', first run'),
          file=sys.stderr)
    for box, score in zip(boxes, scores):
        print('%.1f %.1f %.1f %.1f %.4f' % (tuple(box) + (score,)))
    draw(image, boxes, landmarks).save(args.output)


if __name__ == '__main__':
    main()
