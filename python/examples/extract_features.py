#!/usr/bin/env python3
"""Extracts one blob's features for every image of a Data-layer database
(by default LeNet's `ip1` over the Fashion-MNIST test set) into a .npy file,
with the labels beside it in <out>_labels.npy.

    PYTHONPATH=build/python python3 python/examples/extract_features.py \\
        --weights models/lenet/snapshots/lenet_iter_10000.caffemodel --out features.npy
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
from google.protobuf import text_format

import caffe
from caffe.proto import caffe_pb2

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def test_phase_net(model, source, batch_size):
    """The model's TEST-phase net with its Data layer reading `source`
    (absolute, so the script runs from any directory) in batches of batch_size."""
    param = caffe_pb2.NetParameter()
    with open(model) as f:
        text_format.Merge(f.read(), param)
    data_layers = [l for l in param.layer if l.type == 'Data' and
                   (not l.include or any(r.phase == caffe_pb2.TEST for r in l.include))]
    if len(data_layers) != 1:
        sys.exit('%s: expected one TEST-phase Data layer, found %d' % (model, len(data_layers)))
    data_layers[0].data_param.source = os.path.abspath(source)
    data_layers[0].data_param.batch_size = batch_size
    with tempfile.NamedTemporaryFile('w', suffix='.prototxt', delete=False) as f:
        f.write(text_format.MessageToString(param))
    return f.name, data_layers[0].data_param.backend


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', default=os.path.join(REPO, 'models/lenet/lenet_train_test.prototxt'),
                        help='net with a TEST-phase Data layer')
    parser.add_argument('--weights', default=os.path.join(
        REPO, 'models/lenet/snapshots/lenet_iter_10000.caffemodel'), help='trained .caffemodel')
    parser.add_argument('--source', default=os.path.join(
        REPO, 'data/fashion_mnist/fashion_mnist_test_lmdb'), help='database to read')
    parser.add_argument('--blob', default='ip1', help='blob whose values are the features')
    parser.add_argument('--batch_size', type=int, default=100)
    parser.add_argument('--limit', type=int, default=0, help='stop after this many images')
    parser.add_argument('--out', default='features.npy', help='output .npy')
    args = parser.parse_args()
    if not os.path.exists(args.weights):
        sys.exit('no weights at %s: train LeNet first (./scripts/setup.sh) or pass --weights'
                 % args.weights)

    caffe.set_mode_cpu()
    prototxt, backend = test_phase_net(args.model, args.source, args.batch_size)
    try:
        net = caffe.Net(prototxt, caffe.TEST, weights=args.weights)
    finally:
        os.unlink(prototxt)
    if args.blob not in net.blobs:
        sys.exit('no blob %r; the net has %s' % (args.blob, list(net.blobs)))
    total = caffe.io.database_size(os.path.abspath(args.source),
                                   caffe_pb2.DataParameter.DB.Name(backend))
    if args.limit:
        total = min(total, args.limit)

    feature_shape = net.blobs[args.blob].data.shape[1:]
    features = np.empty((total,) + feature_shape, dtype=np.float32)
    labels = np.empty(total, dtype=np.int64)
    start = time.time()
    done = 0
    while done < total:
        net.forward()  # the Data layer reads the next batch, in database order
        take = min(args.batch_size, total - done)
        features[done:done + take] = net.blobs[args.blob].data[:take]
        labels[done:done + take] = net.blobs['label'].data[:take]
        done += take
    seconds = time.time() - start
    np.save(args.out, features)
    np.save(os.path.splitext(args.out)[0] + '_labels.npy', labels)
    print('extracted %s features %s of %d images in %.2f s (%.0f images/s) to %s'
          % (args.blob, feature_shape, total, seconds, total / seconds, args.out))


if __name__ == '__main__':
    main()
