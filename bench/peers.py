#!/usr/bin/python3
"""Side-by-side CPU benchmark: Cortado next to OpenCV dnn and PyTorch on six nets.

  bench/peers.sh [--nets caffenet,lenet] [--repeats 5] [--rounds 1] [--quick]
                 [--json FILE] [--build-dir DIR]

For each net it times Cortado forward and forward+backward, OpenCV dnn forward
(same prototxt, same random weights as Cortado) and PyTorch eval forward and
train forward+backward (torchvision's version of the architecture), all on the
same number of threads. Every framework x net x pass runs in a child process of
its own, so its peak RSS is that child's alone. The frameworks take turns per
net (cortado, opencv, torch), and --rounds repeats the whole sequence. Columns
are described in docs/performance.md.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

# key: (label, prototxt relative to the repo root, input shape, torchvision model)
NETS = {
    'caffenet': ('CaffeNet', '../shared/conformance/bvlc/models/bvlc_reference_caffenet/'
                 'deploy.prototxt', (10, 3, 227, 227), 'alexnet'),
    'googlenet': ('GoogLeNet', '../shared/conformance/bvlc/models/bvlc_googlenet/deploy.prototxt',
                  (10, 3, 224, 224), 'googlenet'),
    'resnet50': ('ResNet-50', '../shared/conformance/bench/resnet50_deploy.prototxt',
                 (1, 3, 224, 224), 'resnet50'),
    'squeezenet': ('SqueezeNet 1.1', '../shared/conformance/bench/squeezenet_v1.1_deploy.prototxt',
                   (10, 3, 227, 227), 'squeezenet1_1'),
    'mobilenetv2': ('MobileNet v2', '../shared/conformance/bench/mobilenet_v2_deploy.prototxt',
                    (1, 3, 224, 224), 'mobilenet_v2'),
    'lenet': ('LeNet', 'models/lenet/deploy.prototxt', (64, 1, 28, 28), 'lenet'),
}
# One measurement = one child process: (framework, pass).
MEASUREMENTS = [('cortado', 'forward'), ('cortado', 'train'), ('opencv', 'forward'),
                ('torch', 'forward'), ('torch', 'train')]
SEED = 1
CHILD_TIMEOUT_S = 1800
# Cortado and OpenCV read the same weights, so their logits (the input of the
# final Softmax, which random weights often saturate) must agree this closely,
# relative to the largest logit.
OUTPUT_TOLERANCE = 1e-4
# Above this share of the CPUs taken by other processes, timings are suspect.
BUSY_SHARE = 0.1


# --- Children: one framework, one net, one pass -------------------------------

def rss_mb():
    """Peak resident set of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def net_input(shape):
    return np.random.default_rng(SEED).standard_normal(shape, dtype=np.float32)


def top_gradient(shape):
    """The gradient fed into the output in training passes: random rather than
    ones, since ones through the final Softmax would make every gradient zero."""
    return np.random.default_rng(SEED + 1).standard_normal(shape, dtype=np.float32)


def time_passes(run_once, warmup, repeats, before=None):
    samples = []
    for i in range(warmup + repeats):
        if before:
            before()
        start = time.perf_counter()
        run_once()
        if i >= warmup:
            samples.append((time.perf_counter() - start) * 1e3)
    return samples


def make_weights(prototxt, path):
    """Fills every parameter of the deploy net with seeded random values, then
    saves a .caffemodel that both Cortado and OpenCV load."""
    import cortado
    rng = np.random.default_rng(SEED)
    net = cortado.Net(prototxt, cortado.TEST)
    for layer in net.layers:
        blobs = [b.data for b in layer.blobs]
        if layer.type == 'BatchNorm':
            # Statistics: mean, variance (must be positive), moving-average factor.
            blobs[0][...] = rng.normal(0.0, 0.1, blobs[0].shape)
            blobs[1][...] = rng.uniform(0.5, 1.5, blobs[1].shape)
            blobs[2][...] = 1.0
        elif layer.type == 'Scale':
            blobs[0][...] = rng.uniform(0.5, 1.5, blobs[0].shape)
            for b in blobs[1:]:
                b[...] = rng.normal(0.0, 0.01, b.shape)
        else:
            # MSRA-like scale keeps activations of deep nets from dying out or
            # overflowing, so no pass is slowed by denormals or NaNs.
            for i, b in enumerate(blobs):
                std = (2.0 / (b.size // b.shape[0])) ** 0.5 if i == 0 and b.ndim > 1 else 0.01
                b[...] = rng.normal(0.0, std, b.shape)
    net.save(path)


def training_prototxt(prototxt, directory):
    """The deploy net as a training step sees it: the last layer's top becomes a
    loss, so backward runs every layer and fills every parameter gradient but,
    as in training, computes no gradient for the input; BatchNorm uses batch
    statistics as PyTorch's train() does."""
    text = open(prototxt).read()
    last = text.rindex('layer {') + len('layer {')
    text = text[:last] + '\n  loss_weight: 1' + text[last:]
    text = re.sub(r'use_global_stats\s*:\s*true', '', text)
    path = os.path.join(directory, os.path.basename(prototxt) + '.train.prototxt')
    with open(path, 'w') as f:
        f.write(text)
    return path


def cortado_child(args, shape, prototxt):
    import cortado
    result = {'version': cortado.__version__, 'rss_import_mb': rss_mb()}
    if args.pass_ == 'forward':
        # Inference as deployed: BatchNorm/Scale folded, ReLU and shortcut
        # sums fused (OpenCV dnn fuses the same way by default).
        net = cortado.Net(prototxt, cortado.TEST, weights=args.weights, fuse=True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            net = cortado.Net(training_prototxt(prototxt, tmp), cortado.TRAIN,
                              weights=args.weights)
    data = net.inputs[0]
    net.blobs[data].reshape(*shape)
    net.reshape()
    net.blobs[data].data[...] = net_input(shape)
    output = net.outputs[0]
    result['params'] = sum(p.data.size for ps in net.params.values() for p in ps)
    if args.pass_ == 'forward':
        result['ms'] = time_passes(net.forward, args.warmup, args.repeats)
        last = net._layer_names[-1]
        if net.layer_dict[last].type == 'Softmax':
            output = net.bottom_names[last][0]
        np.save(args.save_output, net.forward(blobs=[output])[output].reshape(shape[0], -1))
    else:
        if net.blob_loss_weights[output] != 1:
            raise RuntimeError('%s is not the loss of the training net' % output)
        gradient = top_gradient(net.blobs[output].data.shape)

        def step():
            net.forward()
            net.blobs[output].diff[...] = gradient
            net.backward()
        # Gradients accumulate in Caffe; clearing them is the solver's job, so
        # it stays outside the timed region as PyTorch's zero_grad does.
        result['ms'] = time_passes(step, args.warmup, args.repeats,
                                   before=net.clear_param_diffs)
        if not any(np.abs(p.diff).sum() > 0 for ps in net.params.values() for p in ps):
            raise RuntimeError('backward left every parameter gradient at zero')
    return result


def opencv_child(args, shape, prototxt):
    import cv2
    cv2.setNumThreads(args.threads)
    result = {'version': cv2.__version__, 'rss_import_mb': rss_mb()}
    net = cv2.dnn.readNetFromCaffe(prototxt, args.weights)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    net.setInput(net_input(shape))
    result['ms'] = time_passes(net.forward, args.warmup, args.repeats)
    names = net.getLayerNames()
    last = names[-2] if net.getLayer(names[-1]).type == 'Softmax' else names[-1]
    np.save(args.save_output, net.forward(last).reshape(shape[0], -1))
    return result


def torch_model(name):
    import torchvision
    if name == 'lenet':
        sys.path.insert(0, os.path.join(REPO, 'bench'))
        from pytorch_lenet import LeNet
        return LeNet()
    if name == 'googlenet':
        return torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    return getattr(torchvision.models, name)(weights=None)


def torch_child(args, shape, model_name):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    result = {'version': torch.__version__, 'rss_import_mb': rss_mb()}
    model = torch_model(model_name)
    x = torch.from_numpy(net_input(shape))
    result['params'] = sum(p.numel() for p in model.parameters())
    if args.pass_ == 'forward':
        model.eval()

        def forward():
            with torch.no_grad():
                model(x)
        result['ms'] = time_passes(forward, args.warmup, args.repeats)
    else:
        model.train()
        gradient = torch.from_numpy(top_gradient(model(x).shape))

        def step():
            model(x).backward(gradient)
        result['ms'] = time_passes(step, args.warmup, args.repeats,
                                   before=lambda: model.zero_grad(set_to_none=False))
    return result


def child_main(args):
    _, prototxt, shape, model_name = NETS[args.net]
    prototxt = os.path.join(REPO, prototxt)
    if args.child == 'weights':
        make_weights(prototxt, args.weights)
        return
    run = {'cortado': cortado_child, 'opencv': opencv_child, 'torch': torch_child}[args.child]
    result = run(args, shape, model_name if args.child == 'torch' else prototxt)
    result['rss_peak_mb'] = rss_mb()
    print(json.dumps(result))


# --- Parent: run the children, print the table --------------------------------

def child_env(build_dir, threads):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [os.path.join(build_dir, 'python')] + ([env['PYTHONPATH']] if 'PYTHONPATH' in env else []))
    env['CORTADO_NUM_THREADS'] = str(threads)
    env['OMP_NUM_THREADS'] = str(threads)
    # OpenBLAS serial for all: Cortado splits each GEMM over its own threads.
    # Debian's PyTorch calls OpenBLAS for linear layers only, and a second pool
    # of OpenBLAS threads beside its OpenMP ones measured slower on 2 cores
    # (AlexNet forward 10 %, LeNet 2x), so this is PyTorch's faster setting.
    env['OPENBLAS_NUM_THREADS'] = '1'
    # Cortado and PyTorch both run on libgomp; each child gets its default
    # wait policy, whatever this shell sets. OMP_WAIT_POLICY=passive puts
    # idle threads to sleep at once, and waking them costs a futex call per
    # parallel region: MobileNet v2 b1 forward 12.5 ms instead of 9.4.
    env.pop('OMP_WAIT_POLICY', None)
    env.pop('GOMP_SPINCOUNT', None)
    return env


def busy_cpu_s():
    """CPU seconds the whole machine has spent busy since boot (/proc/stat)."""
    with open('/proc/stat') as f:
        ticks = [int(t) for t in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf('SC_CLK_TCK')  # less idle, iowait


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(framework, pass_, net, args, weights, output=None):
    command = [sys.executable, os.path.abspath(__file__), '--child', framework, '--pass', pass_,
               '--net', net, '--weights', weights, '--warmup', str(args.warmup),
               '--repeats', str(args.repeats), '--threads', str(args.threads)]
    if output:
        command += ['--save-output', output]
    start = time.time(), busy_cpu_s(), children_cpu_s()
    try:
        out = subprocess.run(command, env=child_env(args.build_dir, args.threads),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {'error': 'timed out after %d s' % CHILD_TIMEOUT_S}
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ['exit status %d' % out.returncode]
        return {'error': lines[-1]}
    if framework == 'weights':
        return {}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # The share of the machine other processes used while the child ran: a
    # busy machine slows frameworks very unevenly (docs/performance.md).
    wall, busy, mine = (b - a for a, b in zip(start, (time.time(), busy_cpu_s(),
                                                        children_cpu_s())))
    result['others_cpu'] = max(0.0, busy - mine) / (wall * os.cpu_count())
    return result


def weights_path(net, cache_dir):
    """A cached random .caffemodel, named for the prototxt's contents and the seed."""
    text = open(os.path.join(REPO, NETS[net][1]), 'rb').read()
    digest = hashlib.sha1(text).hexdigest()[:10]
    return os.path.join(cache_dir, '%s_%s_seed%d.caffemodel' % (net, digest, SEED))


def logit_difference(path_a, path_b):
    """Largest difference between two saved outputs, relative to b's largest value."""
    a, b = np.load(path_a), np.load(path_b)
    if a.shape != b.shape:
        return float('inf')
    return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-30))


def machine_line(threads):
    model = 'unknown CPU'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    mem_gib = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2.0**30
    return '%s, %d CPUs, %.0f GiB; %d threads per framework' % (
        model, os.cpu_count(), mem_gib, threads)


def module_line(build_dir):
    """Which Cortado module the children import, and when it was built: the
    source tree's HEAD may be newer than the module in the build directory."""
    found = glob.glob(os.path.join(build_dir, 'python', 'cortado', '_cortado*.so'))
    if not found:
        sys.exit('peers.py: no Cortado Python module under %s/python; build it first' % build_dir)
    built = time.strftime('%Y-%m-%d %H:%M', time.localtime(os.path.getmtime(found[0])))
    return '%s (built %s)' % (found[0], built)


def summarize(runs):
    """Per-round medians -> their median; min over every sample; max RSS."""
    good = [r for r in runs if 'error' not in r]
    if not good:
        return {'error': runs[-1]['error']}
    return {'median_ms': statistics.median(statistics.median(r['ms']) for r in good),
            'min_ms': min(min(r['ms']) for r in good),
            'rss_mb': max(r['rss_peak_mb'] for r in good),
            'rss_import_mb': max(r['rss_import_mb'] for r in good),
            'others_cpu': max(r['others_cpu'] for r in good),
            'params': good[-1].get('params'), 'version': good[-1]['version'],
            'samples_ms': [r['ms'] for r in good]}


def ms(x):
    """Three or four significant digits, whatever the net's size."""
    return '%.2f' % x if x < 10 else '%.1f' % x if x < 100 else '%.0f' % x


def ms_text(s):
    return 'fail' if 'error' in s else '%s (%s)' % (ms(s['median_ms']), ms(s['min_ms']))


def rss_text(*summaries):
    return ' / '.join('-' if 'error' in s else '%.0f' % s['rss_mb'] for s in summaries)


def ratio_text(cortado, peers):
    peers = [(s['median_ms'], name) for name, s in peers if 'error' not in s]
    if 'error' in cortado or not peers:
        return '-'
    fastest, name = min(peers)
    return '%.2f %s' % (cortado['median_ms'] / fastest, name)


def print_table(results):
    print('| net | cortado fwd ms | cortado f+b ms | opencv fwd ms | torch fwd ms | torch f+b ms '
          '| cortado MB fwd / f+b | opencv MB fwd | torch MB fwd / f+b '
          '| fwd cortado/fastest | f+b cortado/torch | others\' CPU |')
    print('|---' * 12 + '|')
    for net, r in results.items():
        label, _, shape, _ = NETS[net]
        cf, ct = r['cortado', 'forward'], r['cortado', 'train']
        of, tf, tt = r['opencv', 'forward'], r['torch', 'forward'], r['torch', 'train']
        others = max([s['others_cpu'] for s in r.values() if 'error' not in s], default=0)
        print('| %s b%d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0f %% |' % (
            label, shape[0], ms_text(cf), ms_text(ct), ms_text(of), ms_text(tf), ms_text(tt),
            rss_text(cf, ct), rss_text(of), rss_text(tf, tt),
            ratio_text(cf, [('opencv', of), ('torch', tf)]), ratio_text(ct, [('torch', tt)]),
            100 * others))


def parent_main(args):
    nets = args.nets.split(',') if args.nets else list(NETS)
    unknown = [n for n in nets if n not in NETS]
    if unknown:
        sys.exit('peers.py: unknown net(s) %s; choose from %s' % (unknown, ','.join(NETS)))
    if args.quick:
        args.warmup, args.repeats = 1, 3
    os.makedirs(args.cache_dir, exist_ok=True)
    started = time.time()
    load_start = os.getloadavg()[0]
    print('machine: %s' % machine_line(args.threads))
    print('cortado module: %s' % module_line(args.build_dir))
    print('warm-up %d, timed %d per child, %d round(s)' % (args.warmup, args.repeats, args.rounds),
          flush=True)

    anomalies = []
    for net in nets:
        path = weights_path(net, args.cache_dir)
        if not os.path.exists(path):
            made = run_child('weights', 'forward', net, args, path)
            if 'error' in made:
                anomalies.append('%s: making random weights failed: %s' % (net, made['error']))

    runs = {(net, m): [] for net in nets for m in MEASUREMENTS}
    outputs = {}
    for round_ in range(args.rounds):
        for net in nets:
            for framework, pass_ in MEASUREMENTS:
                output = None
                if pass_ == 'forward' and framework != 'torch':
                    output = os.path.join(args.cache_dir, '%s_%s_logits.npy' % (net, framework))
                result = run_child(framework, pass_, net, args,
                                   weights_path(net, args.cache_dir), output)
                runs[net, (framework, pass_)].append(result)
                if output and 'error' not in result:
                    outputs[net, framework] = output
                print('  round %d %-12s %-8s %-8s %s' % (
                    round_ + 1, net, framework, pass_,
                    result.get('error') or 'median %.2f ms, peak RSS %.0f MB' % (
                        statistics.median(result['ms']), result['rss_peak_mb'])), flush=True)

    results = {net: {m: summarize(runs[net, m]) for m in MEASUREMENTS} for net in nets}
    output_diffs = {}
    for net in nets:
        for (framework, pass_), s in results[net].items():
            if 'error' in s:
                anomalies.append('%s: %s %s failed: %s' % (net, framework, pass_, s['error']))
        if (net, 'cortado') in outputs and (net, 'opencv') in outputs:
            diff = logit_difference(outputs[net, 'cortado'], outputs[net, 'opencv'])
            output_diffs[net] = diff
            if not diff <= OUTPUT_TOLERANCE:
                anomalies.append('%s: Cortado and OpenCV logits differ by %g of the largest'
                                 % (net, diff))

    print()
    versions = {}
    for r in results.values():
        for (framework, _), s in r.items():
            if 'version' in s:
                versions.setdefault(framework, s['version'])
    print('cortado %s, OpenCV %s, PyTorch %s, Python %s' % (
        versions.get('cortado'), versions.get('opencv'), versions.get('torch'),
        sys.version.split()[0]))
    print('load average (1 min) %.2f before the run; %.0f s in all' % (
        load_start, time.time() - started))
    print()
    print_table(results)
    print()
    print('ms: median of the per-round medians (min over every timed pass). MB: peak RSS of the '
          'child process. ratios above 1 mean Cortado is slower. others\' CPU: the largest share '
          'of the machine other processes used during one of the row\'s measurements.')
    imported = {}
    for r in results.values():
        for (f, _), s in r.items():
            if 'rss_import_mb' in s:
                imported[f] = max(imported.get(f, 0), s['rss_import_mb'])
    print('RSS after imports alone: %s' % ', '.join(
        '%s %.0f MB' % (f, mb) for f, mb in sorted(imported.items())))
    busy = [net for net, r in results.items()
            if any(s.get('others_cpu', 0) > BUSY_SHARE for s in r.values())]
    if busy:
        print('warning: other processes used over %.0f %% of the CPUs while measuring %s; '
              'PyTorch\'s times especially are then unreliable' % (100 * BUSY_SHARE,
                                                                     ', '.join(busy)))
    for line in anomalies:
        print('anomaly: ' + line)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'machine': machine_line(args.threads), 'versions': versions,
                       'cortado_module': module_line(args.build_dir),
                       'warmup': args.warmup, 'repeats': args.repeats, 'rounds': args.rounds,
                       'anomalies': anomalies, 'cortado_vs_opencv_logit_diff': output_diffs,
                       'nets': {net: {'%s %s' % m: s for m, s in r.items()}
                                for net, r in results.items()}},
                      f, indent=1)
    return 1 if anomalies else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nets', help='comma-separated subset of ' + ','.join(NETS))
    parser.add_argument('--repeats', type=int, default=5, help='timed passes per child')
    parser.add_argument('--warmup', type=int, default=2, help='untimed passes first')
    parser.add_argument('--rounds', type=int, default=1, help='times to repeat the whole sequence')
    parser.add_argument('--quick', action='store_true', help='smoke run: 1 warm-up, 3 timed')
    parser.add_argument('--threads', type=int, default=2, help='threads for every framework')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--build-dir', default=os.path.join(REPO, 'build'),
                        help='Cortado build to use (default <repo>/build)')
    parser.add_argument('--cache-dir', default=os.path.join(tempfile.gettempdir(), 'cortado_peers'),
                        help='where random weights and outputs are kept')
    # Internal: what one child process measures.
    parser.add_argument('--child', choices=['weights', 'cortado', 'opencv', 'torch'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--pass', dest='pass_', choices=['forward', 'train'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--net', help=argparse.SUPPRESS)
    parser.add_argument('--weights', help=argparse.SUPPRESS)
    parser.add_argument('--save-output', help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if args.child:
        child_main(args)
        return 0
    return parent_main(args)


if __name__ == '__main__':
    sys.exit(main())
