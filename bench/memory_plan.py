#!/usr/bin/python3
"""Planned against unplanned blob memory, in one run (docs/memory.md).

For each net, inference (TEST) and training (TRAIN with backward forced), it
runs `cortado time` with --plan_memory=false and =true, interleaved, each in
its own process, and prints the blob bytes the planner reports, the peak RSS
of the process (wait4), and the median whole-pass time. Run on a quiet
machine: bench/memory_plan.py [--iterations N] [--threads N].
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFORMANCE = os.path.join(ROOT, '..', 'shared', 'conformance')
NETS = [
    ('ResNet-50', os.path.join(CONFORMANCE, 'bench', 'resnet50_deploy.prototxt'), 1),
    ('ResNet-50', os.path.join(CONFORMANCE, 'bench', 'resnet50_deploy.prototxt'), 8),
    ('GoogLeNet', os.path.join(CONFORMANCE, 'bvlc', 'models', 'bvlc_googlenet', 'deploy.prototxt'), 10),
    ('CaffeNet', os.path.join(CONFORMANCE, 'bvlc', 'models', 'bvlc_reference_caffenet',
                              'deploy.prototxt'), 10),
    ('LeNet', os.path.join(ROOT, 'models', 'lenet', 'deploy.prototxt'), 64),
]


def with_batch(text, batch, force_backward, recompute=False):
    """The prototxt with its batch set (Input shapes and input_dim) and, for
    training, force_backward (deploy nets have no loss)."""
    text = re.sub(r'(input_param\s*\{\s*shape\s*\{\s*dim:\s*)\d+', r'\g<1>%d' % batch, text)
    text = re.sub(r'(input_dim:\s*)\d+', r'\g<1>%d' % batch, text, count=1)
    text = re.sub(r'(input_shape\s*\{\s*dim:\s*)\d+', r'\g<1>%d' % batch, text, count=1)
    if force_backward:
        text = 'force_backward: true\n' + text
    if recompute:
        text = 'recompute_cheap_layers: true\n' + text
    return text


def run(tool, model, phase, plan, iterations, threads):
    args = [tool, 'time', '--model=' + model, '--phase=' + phase,
            '--iterations=%d' % iterations, '--plan_memory=%s' % ('true' if plan else 'false')]
    if threads:
        args.append('--threads=%d' % threads)
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_WAIT_POLICY='PASSIVE'))
    out, err = proc.communicate()
    # wait4 through communicate: the child is reaped there; take its usage
    # from RUSAGE_CHILDREN deltas instead.
    if proc.returncode != 0:
        sys.exit('%s failed:\n%s' % (' '.join(args), err[-2000:]))
    timing = {}
    for name in ('forward', 'forward+backward'):
        m = re.search(r'^\s+%s\s+([0-9.]+)\s+([0-9.]+)' % re.escape(name), out, re.M)
        timing[name] = float(m.group(1)) if m else float('nan')
    m = re.search(r'blob memory planned, (\d+) bytes instead of (\d+)', err)
    planned, unplanned = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    return timing, planned, unplanned


def peak_rss_of(fn):
    """Runs fn() in a forked child and returns (its result, its peak RSS)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        result = fn()
        os.write(write, repr(result).encode())
        os._exit(0)
    os.close(write)
    data = b''
    while True:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        data += chunk
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        sys.exit('benchmark child failed')
    # The child's own RSS is tiny; ru_maxrss covers its largest descendant.
    return eval(data.decode()), usage.ru_maxrss * 1024  # noqa: S307 (our own repr)


def mib(n):
    return '%.1f' % (n / 2**20) if n is not None else '-'


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--tool', default=os.path.join(ROOT, 'build', 'cortado'))
    parser.add_argument('--iterations', type=int, default=5)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, batch in NETS:
            text = open(path).read()
            for mode, phase in (('inference', 'TEST'), ('training', 'TRAIN')):
                model = os.path.join(tmp, 'net.prototxt')
                with open(model, 'w') as f:
                    f.write(with_batch(text, batch, mode == 'training'))
                recomputing = os.path.join(tmp, 'recompute.prototxt')
                with open(recomputing, 'w') as f:
                    f.write(with_batch(text, batch, True, True))
                variants = [(False, model), (True, model)]
                if mode == 'training':
                    variants.append(('recompute', recomputing))
                results = {}
                for plan, path_ in variants:
                    results[plan] = peak_rss_of(
                        lambda plan=plan, path_=path_: run(args.tool, path_, phase, bool(plan),
                                                           args.iterations, args.threads))
                key = 'forward' if mode == 'inference' else 'forward+backward'
                (t0, _, _), rss0 = results[False]
                for plan, _ in variants[1:]:
                    (t1, planned, unplanned), rss1 = results[plan]
                    label = mode + (', recomputing' if plan == 'recompute' else '')
                    rows.append((name, batch, label, unplanned, planned, rss0, rss1, t0[key],
                                 t1[key]))
                print('%s b%d %s done' % (name, batch, mode), file=sys.stderr)
    header = ('net', 'batch', 'pass', 'blobs unplanned MiB', 'planned MiB', 'ratio',
              'peak RSS unplanned MiB', 'planned MiB', 'ratio', 'ms unplanned', 'ms planned',
              'time ratio')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for name, batch, mode, unplanned, planned, rss0, rss1, ms0, ms1 in rows:
        ratio = '%.2f' % (planned / unplanned) if planned and unplanned else '-'
        print('| %s | %d | %s | %s | %s | %s | %s | %s | %.2f | %.1f | %.1f | %.2f |' % (
            name, batch, mode, mib(unplanned), mib(planned), ratio, mib(rss0), mib(rss1),
            rss1 / rss0, ms0, ms1, ms1 / ms0))


if __name__ == '__main__':
    main()
