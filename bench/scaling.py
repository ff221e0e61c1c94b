#!/usr/bin/python3
"""Data-parallel scaling, measured here and modelled for clusters.

  /usr/bin/python3 bench/scaling.py [--lenet] [--iterations N]

Measures, on this machine:
  - the loopback allreduce bandwidth (mpirun -np 2 build/allreduce_bench);
  - for CaffeNet b10, GoogLeNet b10, ResNet-50 b1 and MobileNet v2 b1: the
    gradient bytes each rank allreduces per iteration (4 bytes per learnable
    weight) and the forward+backward time of one rank (`cortado time`, random
    weights, 2 threads);
  - with --lenet, the 10,000-iteration LeNet recipe three ways: 1 rank x 2
    threads, 1 rank x 1 thread (both batch 64), 2 ranks x 1 thread (batch 32
    each, the same global batch): wall time, test accuracy, bytes per iteration.
Then it predicts step time and scaling efficiency at 8, 64 and 256 ranks on
10, 25 and 100 Gb/s networks with the ring-allreduce model of
docs/scaling.md, and prints every table.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
BUILD = os.path.join(REPO, 'build')
SHARED = os.path.join(REPO, '..', 'shared', 'conformance')
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1')
MPIRUN = ['mpirun', '--allow-run-as-root', '--oversubscribe']

NETS = [
    ('CaffeNet b10', 'bvlc/models/bvlc_reference_caffenet/deploy.prototxt'),
    ('GoogLeNet b10', 'bvlc/models/bvlc_googlenet/deploy.prototxt'),
    ('ResNet-50 b1', 'bench/resnet50_deploy.prototxt'),
    ('MobileNet v2 b1', 'bench/mobilenet_v2_deploy.prototxt'),
]
RANKS = [8, 64, 256]
LINKS_GBPS = [10, 25, 100]
# Per-message latency of a cluster network step (TCP over Ethernet); the
# ring makes 2(N-1) such steps per allreduce.
STEP_LATENCY_S = 20e-6
# Backward is about two thirds of a training step in these nets (cortado
# time's per-layer tables); reduction overlaps it, bucket by bucket.
BACKWARD_SHARE = 2.0 / 3.0
# The last bucket (the first layers' gradients, finished last) cannot overlap.
BUCKET_BYTES = 4 << 20


def run(command, env=None):
    out = subprocess.run(command, env=env or ENV, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True)
    if out.returncode != 0:
        sys.exit('failed: %s\n%s' % (' '.join(command), out.stdout[-3000:]))
    return out.stdout


def allreduce_bandwidth():
    text = run(MPIRUN + ['-np', '2', os.path.join(BUILD, 'allreduce_bench')])
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[0].isdigit():
            rows.append((int(fields[0]), float(fields[1]), float(fields[3])))
    return text, rows


def parameter_bytes(prototxt):
    sys.path.insert(0, os.path.join(BUILD, 'python'))
    import cortado
    net = cortado.Net(prototxt, cortado.TEST)
    return sum(p.data.size * 4 for params in net.params.values() for p in params)


def step_ms(prototxt, iterations):
    # Deploy nets have no loss: force_backward makes `time` run every
    # layer's backward, as training would.
    with tempfile.NamedTemporaryFile('w', suffix='.prototxt') as forced:
        forced.write('force_backward: true\n' + open(prototxt).read())
        forced.flush()
        text = run([os.path.join(BUILD, 'cortado'), 'time', '--model=' + forced.name,
                    '--iterations=%d' % iterations], env=dict(ENV, CORTADO_NUM_THREADS='2'))
    return float(re.search(r'Average Forward-Backward: ([\d.]+) ms', text).group(1))


def ring_allreduce_s(ranks, size_bytes, gbps):
    """Ring allreduce of size_bytes sent in BUCKET_BYTES buckets: each link
    carries 2(N-1)/N of the data, and each bucket pays 2(N-1) step latencies."""
    bandwidth = gbps * 1e9 / 8
    buckets = max(1, -(-size_bytes // BUCKET_BYTES))
    return (2.0 * (ranks - 1) / ranks * size_bytes / bandwidth +
            buckets * 2 * (ranks - 1) * STEP_LATENCY_S)


def predicted_step_s(compute_s, ranks, size_bytes, gbps):
    backward = BACKWARD_SHARE * compute_s
    whole = ring_allreduce_s(ranks, size_bytes, gbps)
    tail = ring_allreduce_s(ranks, min(size_bytes, BUCKET_BYTES), gbps)
    return (compute_s - backward) + max(backward, whole) + tail


def lenet_runs():
    solver_text = open(os.path.join(REPO, 'models/lenet/lenet_solver.prototxt')).read()
    net_text = open(os.path.join(REPO, 'models/lenet/lenet_train_test.prototxt')).read()
    net_text = net_text.replace('data/fashion_mnist/', os.path.join(REPO, 'data/fashion_mnist/'))
    results = []
    with tempfile.TemporaryDirectory(prefix='cortado_scaling_') as tmp:
        for label, ranks, threads, batch in [('1 rank x 2 threads', 1, 2, 64),
                                             ('1 rank x 1 thread', 1, 1, 64),
                                             ('2 ranks x 1 thread', 2, 1, 32)]:
            net = os.path.join(tmp, 'lenet_b%d.prototxt' % batch)
            with open(net, 'w') as f:
                f.write(net_text.replace('batch_size: 64', 'batch_size: %d' % batch, 1))
            solver = os.path.join(tmp, 'solver_%d_%d.prototxt' % (ranks, threads))
            text = re.sub(r'net: .*', 'net: "%s"' % net, solver_text)
            text = re.sub(r'test_interval: \d+', 'test_interval: 10000', text)
            text = re.sub(r'snapshot: \d+', 'snapshot: 0', text)
            text = re.sub(r'snapshot_prefix: .*', 'snapshot_prefix: "%s/lenet"' % tmp, text)
            with open(solver, 'w') as f:
                f.write(text)
            command = [os.path.join(BUILD, 'cortado'), 'train', '--solver=' + solver]
            if ranks > 1:
                command = MPIRUN + ['--bind-to', 'core', '-np', str(ranks)] + command
            start = time.time()
            log = run(command, env=dict(ENV, CORTADO_NUM_THREADS=str(threads)))
            wall = time.time() - start
            accuracy = float(re.findall(r'accuracy = ([\d.]+)', log)[-1])
            sent = re.search(r'(\d+) bytes of gradient allreduced', log)
            results.append((label, wall, accuracy, int(sent.group(1)) if sent else 0))
            print('  %-20s %7.1f s  accuracy %.4f' % (label, wall, accuracy), flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--lenet', action='store_true', help='also time the LeNet runs')
    parser.add_argument('--iterations', type=int, default=3, help='cortado time iterations')
    args = parser.parse_args()

    text, rows = allreduce_bandwidth()
    print(text)
    # The bandwidth gradients see: that of one bucket.
    loopback = [bus for size, _, bus in rows if size == BUCKET_BYTES][0]

    if args.lenet:
        print('LeNet, 10,000 iterations (Fashion-MNIST, lenet_solver.prototxt):')
        lenet = lenet_runs()
        print('\n| run | wall s | test accuracy | bytes allreduced / iteration |')
        print('|---|---|---|---|')
        for label, wall, accuracy, sent in lenet:
            print('| %s | %.1f | %.4f | %s |' % (label, wall, accuracy, sent or '-'))
        print()

    print('| net | gradient MB / iteration | fwd+bwd ms (1 rank, 2 threads) | '
          'loopback allreduce ms (%.2f GB/s in 4 MB buckets) |' % loopback)
    print('|---|---|---|---|')
    measured = []
    for name, path in NETS:
        prototxt = os.path.join(SHARED, path)
        size = parameter_bytes(prototxt)
        compute = step_ms(prototxt, args.iterations) / 1e3
        measured.append((name, size, compute))
        print('| %s | %.1f | %.0f | %.1f |' % (name, size / 1e6, compute * 1e3,
                                              2 * 0.5 * size / (loopback * 1e9) * 1e3))
    print()
    print('Predicted scaling efficiency (compute / step time), ring allreduce overlapped '
          'with backward:')
    header = '| net | ' + ' | '.join('%d ranks @ %d Gb/s' % (n, g)
                                     for g in LINKS_GBPS for n in RANKS) + ' |'
    print(header)
    print('|---' * (1 + len(RANKS) * len(LINKS_GBPS)) + '|')
    for name, size, compute in measured:
        cells = []
        for gbps in LINKS_GBPS:
            for ranks in RANKS:
                cells.append('%.0f %%' % (100 * compute / predicted_step_s(compute, ranks, size,
                                                                           gbps)))
        print('| %s | %s |' % (name, ' | '.join(cells)))
    print()
    print('The same nets at GPU speed (compute 50x faster than these 2 cores):')
    print(header)
    print('|---' * (1 + len(RANKS) * len(LINKS_GBPS)) + '|')
    for name, size, compute in measured:
        fast = compute / 50
        cells = []
        for gbps in LINKS_GBPS:
            for ranks in RANKS:
                cells.append('%.0f %%' % (100 * fast / predicted_step_s(fast, ranks, size, gbps)))
        print('| %s | %s |' % (name, ' | '.join(cells)))


if __name__ == '__main__':
    main()
