#!/usr/bin/env python3
"""Classifies images with caffe.Classifier and saves the class scores.

The input is an image file, a directory of images (--ext), or a .npy of
H x W x K images. Defaults fit LeNet: grey 28x28, pixels scaled to 0..255/256.

    PYTHONPATH=build/python python3 python/examples/classify.py digit.png scores.npy \\
        --pretrained_model models/lenet/snapshots/lenet_iter_10000.caffemodel

--zoo NAME takes the net, weights, preprocessing and labels from a model-zoo
entry (fetching its files as `cortado zoo fetch` does); options given on the
command line still win. With labels (--zoo or --labels) it prints the top 5
classes of each input as `score label` lines:

    python3 python/examples/classify.py cat.jpg scores.npy --zoo cifar10_resnet20
"""
import argparse
import glob
import os
import sys
import time

import numpy as np

import caffe

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TOP_K = 5

# Used when neither the command line nor a zoo entry says otherwise.
DEFAULTS = {
    'model_def': os.path.join(REPO, 'models/lenet/lenet.prototxt'),
    'pretrained_model': os.path.join(REPO, 'models/lenet/snapshots/lenet_iter_10000.caffemodel'),
    'input_scale': 1 / 256.0,
    'raw_scale': 255.0,
}


def parse_tuple(text, cast=int):
    return tuple(cast(x) for x in text.split(',')) if text else None


def read_labels(path):
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def zoo_settings(name):
    """The classifier settings an entry's front matter gives, as argument
    names of this script, plus its label names (or None)."""
    from cortado import zoo
    entry = zoo.load_entry(name)
    meta = entry.meta
    for key in ('caffemodel', 'input_size'):
        if key not in meta:
            raise zoo.ZooError('%s: the front matter has no %s' % (entry.readme, key))
    paths = zoo.ensure(name)
    if 'deploy.prototxt' not in paths:
        raise zoo.ZooError('%s: the entry has no deploy.prototxt' % name)
    prep = meta.get('preprocessing') or {}
    channels, height, width = meta['input_size'][1:]
    color = bool(prep.get('color', channels == 3))
    settings = {
        'model_def': paths['deploy.prototxt'],
        'pretrained_model': paths[meta['caffemodel']],
        'images_dim': (height, width),
        'color': color,
        'raw_scale': float(prep.get('raw_scale', 255.0)),
        'input_scale': float(prep.get('scale', 1.0)),
        # load_image gives RGB; a BGR net (Caffe's usual) needs the channels reversed.
        'channel_swap': (2, 1, 0) if color and prep.get('channel_order', 'BGR') == 'BGR' else None,
        'mean': None,
    }
    mean = prep.get('mean')
    if isinstance(mean, (list, tuple)):
        settings['mean'] = np.array(mean, dtype=np.float32)
    elif mean is not None:
        print('classify.py: %s publishes no mean (%s); classifying without subtracting one'
              % (name, ' '.join(str(mean).split())), file=sys.stderr)
    labels = read_labels(paths[meta['labels']]) if meta.get('labels') else None
    return settings, labels


def load_inputs(path, color, ext):
    """The images to classify and a name for each."""
    if path.endswith('.npy'):
        images = np.load(path)
        return images, ['%s[%d]' % (path, i) for i in range(len(images))]
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, '*.' + ext)))
    else:
        files = [path]
    return [caffe.io.load_image(f, color=color) for f in files], files


def print_top(names, scores, labels):
    for name, row in zip(names, scores):
        print(name)
        for k in np.argsort(-row, kind='stable')[:TOP_K]:
            label = labels[k] if labels is not None and k < len(labels) else str(k)
            print('%.4f %s' % (row[k], label))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('input_file', help='image, directory of images, or .npy')
    parser.add_argument('output_file', help='where the N x classes scores go (.npy)')
    parser.add_argument('--zoo', metavar='NAME',
                        help='take net, weights, preprocessing and labels from this zoo entry')
    parser.add_argument('--labels', help='class names, one per line: print the top %d' % TOP_K)
    parser.add_argument('--model_def', help='default: ' + DEFAULTS['model_def'])
    parser.add_argument('--pretrained_model', help='default: ' + DEFAULTS['pretrained_model'])
    parser.add_argument('--center_only', action='store_true',
                        help='classify the centre crop only instead of ten crops')
    parser.add_argument('--images_dim', default='', help='H,W to resize to before cropping')
    parser.add_argument('--mean_file', default='', help='.npy mean (K or K x H x W)')
    parser.add_argument('--input_scale', type=float, help='default: 1/256')
    parser.add_argument('--raw_scale', type=float, help='default: 255')
    parser.add_argument('--channel_swap', default='', help='e.g. 2,1,0 for RGB -> BGR')
    parser.add_argument('--color', action='store_true', help='load images as RGB, not grey')
    parser.add_argument('--ext', default='png', help='image extension in a directory input')
    args = parser.parse_args()

    settings = dict(DEFAULTS, images_dim=None, color=False, channel_swap=None, mean=None)
    labels = None
    if args.zoo:
        from cortado import zoo
        try:
            from_zoo, labels = zoo_settings(args.zoo)
        except zoo.ZooError as e:
            sys.exit('classify.py: %s' % e)
        settings.update(from_zoo)
    for key in ('model_def', 'pretrained_model', 'input_scale', 'raw_scale'):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    if args.images_dim:
        settings['images_dim'] = parse_tuple(args.images_dim)
    if args.channel_swap:
        settings['channel_swap'] = parse_tuple(args.channel_swap)
    if args.mean_file:
        settings['mean'] = np.load(args.mean_file)
    settings['color'] = settings['color'] or args.color
    if args.labels:
        labels = read_labels(args.labels)
    # Ten crops of an image already the net's size are one crop and its mirror
    # (wrong for digits): a zoo net sees the centre crop unless told to resize larger.
    oversample = not args.center_only and not (args.zoo and not args.images_dim)

    classifier = caffe.Classifier(settings['model_def'], settings['pretrained_model'],
                                  image_dims=settings['images_dim'], mean=settings['mean'],
                                  input_scale=settings['input_scale'],
                                  raw_scale=settings['raw_scale'],
                                  channel_swap=settings['channel_swap'])
    inputs, names = load_inputs(os.path.expanduser(args.input_file), settings['color'],
                                args.ext)
    print('Classifying %d inputs.' % len(inputs))
    start = time.time()
    scores = classifier.predict(inputs, oversample)
    print('Done in %.2f s.' % (time.time() - start))
    if labels is not None or args.zoo:
        print_top(names, scores, labels)
    else:
        for i, row in enumerate(scores[:10]):
            print('%d: class %d (%.3f)' % (i, row.argmax(), row.max()))
    np.save(args.output_file, scores)
    print('Saved to %s.' % args.output_file)


if __name__ == '__main__':
    main()
