"""Draws a net prototxt as an image: draw_net.py net.prototxt net.png [--rankdir TB].

Runs from any folder as `python3 -m caffe.draw_net` (or `-m cortado.draw_net`),
and as the installed draw_net.py script."""
import argparse

from google.protobuf import text_format

import cortado
import cortado.draw
from cortado.proto import caffe_pb2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('input_net_proto_file', help='net prototxt')
    parser.add_argument('output_image_file', help='output image (.png, .svg, .pdf, .dot)')
    parser.add_argument('--rankdir', default='LR',
                        help='graph direction: LR, TB, BT or RL (default LR)')
    parser.add_argument('--phase', default='ALL', choices=['ALL', 'TRAIN', 'TEST'],
                        help='draw only the layers of this phase')
    parser.add_argument('--display_lrm', action='store_true',
                        help='show learning-rate multipliers')
    args = parser.parse_args(argv)
    net = caffe_pb2.NetParameter()
    with open(args.input_net_proto_file) as f:
        text_format.Merge(f.read(), net)
    phase = {'TRAIN': cortado.TRAIN, 'TEST': cortado.TEST, 'ALL': None}[args.phase]
    print('Drawing net to %s' % args.output_image_file)
    cortado.draw.draw_net_to_file(net, args.output_image_file, args.rankdir, phase,
                                  args.display_lrm)


if __name__ == '__main__':
    main()
