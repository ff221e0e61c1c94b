#!/usr/bin/env python3
"""Records a zoo entry's reference outputs with an independent reader, OpenCV dnn.

For each `verify.checks` item of models/<name>/readme.md it builds the fixed input
(the same seeded NumPy values `cortado zoo verify` uses), runs the net through
cv2.dnn.readNetFromCaffe, and saves the named outputs to the check's `reference`
.npz. Run once per entry after fetching it (needs Debian's python3-opencv):

    PYTHONPATH=build/python /usr/bin/python3 scripts/record_zoo_reference.py mtcnn \\
        --mirror ../shared/zoo
"""
import argparse
import os
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('names', nargs='+')
    parser.add_argument('--mirror', action='append')
    args = parser.parse_args()
    import cv2
    from cortado import zoo
    for name in args.names:
        entry = zoo.load_entry(name)
        paths = zoo.ensure(name, mirror=args.mirror)
        for check in entry.meta['verify']['checks']:
            net = cv2.dnn.readNetFromCaffe(paths[check['net']], paths[check['weights']])
            net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            for blob_name, spec in check['inputs'].items():
                net.setInput(zoo.fixed_input(spec), blob_name)
            outputs = check.get('outputs') or list(net.getUnconnectedOutLayersNames())
            values = net.forward(outputs)
            out_path = os.path.join(entry.folder, check['reference'])
            np.savez_compressed(out_path, **{o: v.astype(np.float32)
                                             for o, v in zip(outputs, values)})
            print('%s: %s -> %s (%s)' % (name, check['net'], out_path,
                                         ', '.join('%s %s' % (o, v.shape)
                                                   for o, v in zip(outputs, values))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
