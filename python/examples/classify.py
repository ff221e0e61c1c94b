#!/usr/bin/env python3
"""Classifies images with caffe.Classifier and saves the class scores.

The input is an image file, a directory of images (--ext), or a .npy of
H x W x K images. Defaults fit LeNet: grey 28x28, pixels scaled to 0..255/256.

    PYTHONPATH=build/python python3 python/examples/classify.py digit.png scores.npy \\
        --pretrained_model models/lenet/snapshots/lenet_iter_10000.caffemodel
"""
import argparse
import glob
import os
import time

import numpy as np

import caffe

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def parse_tuple(text, cast=int):
    return tuple(cast(x) for x in text.split(',')) if text else None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('input_file', help='image, directory of images, or .npy')
    parser.add_argument('output_file', help='where the N x classes scores go (.npy)')
    parser.add_argument('--model_def', default=os.path.join(REPO, 'models/lenet/lenet.prototxt'))
    parser.add_argument('--pretrained_model', default=os.path.join(
        REPO, 'models/lenet/snapshots/lenet_iter_10000.caffemodel'))
    parser.add_argument('--center_only', action='store_true',
                        help='classify the centre crop only instead of ten crops')
    parser.add_argument('--images_dim', default='', help='H,W to resize to before cropping')
    parser.add_argument('--mean_file', default='', help='.npy mean (K or K x H x W)')
    parser.add_argument('--input_scale', type=float, default=1 / 256.0)
    parser.add_argument('--raw_scale', type=float, default=255.0)
    parser.add_argument('--channel_swap', default='', help='e.g. 2,1,0 for RGB -> BGR')
    parser.add_argument('--color', action='store_true', help='load images as RGB, not grey')
    parser.add_argument('--ext', default='png', help='image extension in a directory input')
    args = parser.parse_args()

    mean = np.load(args.mean_file) if args.mean_file else None
    classifier = caffe.Classifier(args.model_def, args.pretrained_model,
                                  image_dims=parse_tuple(args.images_dim), mean=mean,
                                  input_scale=args.input_scale, raw_scale=args.raw_scale,
                                  channel_swap=parse_tuple(args.channel_swap))
    path = os.path.expanduser(args.input_file)
    if path.endswith('.npy'):
        inputs = np.load(path)
    elif os.path.isdir(path):
        inputs = [caffe.io.load_image(f, color=args.color)
                  for f in sorted(glob.glob(os.path.join(path, '*.' + args.ext)))]
    else:
        inputs = [caffe.io.load_image(path, color=args.color)]
    print('Classifying %d inputs.' % len(inputs))
    start = time.time()
    scores = classifier.predict(inputs, not args.center_only)
    print('Done in %.2f s.' % (time.time() - start))
    for i, row in enumerate(scores[:10]):
        print('%d: class %d (%.3f)' % (i, row.argmax(), row.max()))
    np.save(args.output_file, scores)
    print('Saved to %s.' % args.output_file)


if __name__ == '__main__':
    main()
