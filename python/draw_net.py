#!/usr/bin/env python3
"""pycaffe's draw_net.py: draws a net prototxt as an image (see cortado/draw_net.py)."""
from cortado.draw_net import main

if __name__ == '__main__':
    main()
