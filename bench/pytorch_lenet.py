#!/usr/bin/python3
"""Trains Caffe's LeNet recipe on Fashion-MNIST with PyTorch (Debian's python3-torch),
the peer that bench/lenet.sh is compared against. Same net, same solver settings
(SGD momentum 0.9, weight decay 5e-4 on weights, biases at 2x lr with no decay, inv
policy), batch 64, 10,000 iterations, test every 500 iterations on all 10,000 test
images. Prints wall time, iterations/s and the final accuracy.
Usage: pytorch_lenet.py [iterations] [cpu|cuda]; FASHION_MNIST_DIR overrides the data folder."""
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic = struct.unpack(">I", f.read(4))[0]
        dims = [struct.unpack(">I", f.read(4))[0] for _ in range(magic & 0xFF)]
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def load(split):
    def find(base):
        for p in (f"{DATA}/{base}", f"{DATA}/{base}.gz"):
            if os.path.exists(p):
                return p
        sys.exit(f"{DATA}/{base} not found (apt-get install dataset-fashion-mnist)")
    x = read_idx(find(f"{split}-images-idx3-ubyte")).astype(np.float32) * 0.00390625
    y = read_idx(find(f"{split}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


class LeNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 20, 5)
        self.conv2 = torch.nn.Conv2d(20, 50, 5)
        self.ip1 = torch.nn.Linear(800, 500)
        self.ip2 = torch.nn.Linear(500, 10)
        for m in (self.conv1, self.conv2, self.ip1, self.ip2):
            fan_in = m.weight[0].numel()
            bound = (3.0 / fan_in) ** 0.5  # Caffe's xavier
            torch.nn.init.uniform_(m.weight, -bound, bound)
            torch.nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 2, 2)
        x = F.max_pool2d(self.conv2(x), 2, 2)
        return self.ip2(F.relu(self.ip1(x.flatten(1))))


def main():
    device = torch.device(sys.argv[2] if len(sys.argv) > 2 else "cpu")
    if device.type == "cpu":
        torch.set_num_threads(2)
    else:
        # Float32 as Cortado computes it: no TF32 in matrix products or convolutions.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    train_x, train_y = (t.to(device) for t in load("train"))
    test_x, test_y = (t.to(device) for t in load("t10k"))
    net = LeNet().to(device)
    weights = [p for n, p in net.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in net.named_parameters() if n.endswith("bias")]
    opt = torch.optim.SGD([{"params": weights, "weight_decay": 5e-4, "lr_mult": 1.0},
                           {"params": biases, "weight_decay": 0.0, "lr_mult": 2.0}],
                          lr=0.01, momentum=0.9)
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    batch, n = 64, train_x.shape[0]
    cursor = 0
    accuracy = 0.0
    start = time.time()

    def test():
        net.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, test_x.shape[0], 100):
                correct += (net(test_x[i:i + 100]).argmax(1) == test_y[i:i + 100]).sum().item()
        net.train()
        return correct / test_x.shape[0]

    for it in range(iters):
        if it % 500 == 0 and it > 0:
            accuracy = test()
        lr = 0.01 * (1 + 1e-4 * it) ** -0.75
        for g in opt.param_groups:
            # Caffe scales the gradient step (lr * mult) inside the momentum history.
            g["lr"] = lr * g["lr_mult"]
        idx = torch.arange(cursor, cursor + batch, device=device) % n
        cursor = (cursor + batch) % n
        loss = F.cross_entropy(net(train_x[idx]), train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    accuracy = test()
    if device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.time() - start
    print(f"{'metric':28s} {'value':>10s}")
    print(f"{'wall time (s)':28s} {wall:10.1f}")
    print(f"{'iterations/s (incl. tests)':28s} {iters / wall:10.1f}")
    print(f"{'final test accuracy':28s} {accuracy:10.4f}")


if __name__ == "__main__":
    main()
