"""`python3 -m caffe.draw_net net.prototxt net.png`: pycaffe's draw_net.py as a module."""
from cortado.draw_net import main

if __name__ == '__main__':
    main()
