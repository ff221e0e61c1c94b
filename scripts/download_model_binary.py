#!/usr/bin/env python3
"""BVLC's interface to the zoo: download_model_binary.py <model dir>.

Fetches the files named in <model dir>/readme.md's front matter into that folder,
checking each SHA-1 (see models/README.md); the same as `cortado zoo fetch <name>`.
"""
import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(REPO, 'build', 'python'))
sys.path.insert(1, os.path.join(REPO, 'python'))


def main(argv):
    if len(argv) != 2:
        print('usage: download_model_binary.py <model dir>', file=sys.stderr)
        return 2
    folder = os.path.abspath(argv[1].rstrip('/'))
    if not os.path.isfile(os.path.join(folder, 'readme.md')):
        print('download_model_binary.py: %s has no readme.md' % folder, file=sys.stderr)
        return 1
    os.environ['CORTADO_MODELS_DIR'] = os.path.dirname(folder)
    os.environ.pop('CORTADO_ZOO_DIR', None)  # BVLC's script writes into the model folder
    from cortado import zoo
    return zoo.main(['fetch', os.path.basename(folder)])


if __name__ == '__main__':
    sys.exit(main(sys.argv))
