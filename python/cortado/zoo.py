"""The model zoo: list, fetch (with SHA-1 checks and resume) and verify pretrained models.

An entry is a folder under models/ whose readme.md starts with YAML front matter in BVLC's
zoo format (name, caffemodel, caffemodel_url, sha1, license, ...) plus Cortado's keys:
`files` (further files to fetch, each with name, source_name, url, sha1), `derive_deploy`
(make deploy.prototxt from a fetched train/test net) and `verify` (fixed inputs and stored
reference outputs recorded with OpenCV dnn; optionally a test set to measure accuracy on).
See models/README.md.

    python3 -m cortado.zoo list
    python3 -m cortado.zoo fetch ultraface_rfb320 [--mirror DIR] [--dir OUT]
    python3 -m cortado.zoo verify --all
"""
import argparse
import hashlib
import http.client
import os
import shutil
import sys
import time
import urllib.error
import urllib.request

import numpy as np

MIRROR_ENV = 'CORTADO_ZOO_MIRROR'   # os.pathsep-separated local folders that stand in for servers
SERVER_ENV = 'CORTADO_ZOO_SERVER'   # a base URL serving files by their source name
MODELS_ENV = 'CORTADO_MODELS_DIR'   # where the entries (models/<name>/readme.md) live
FETCH_DIR_ENV = 'CORTADO_ZOO_DIR'   # where fetched files go: <dir>/<name>/ (default: the entry)

_CHUNK = 1 << 16
_MAX_ATTEMPTS = 5


class ZooError(Exception):
    """A zoo failure with a message meant for the user (file, entry or URL named)."""


class ZooUnavailable(ZooError):
    """A file that no configured source can provide here (not in the mirror, no network)."""


# --- Entries ------------------------------------------------------------------

def models_dir():
    """The folder holding the entries: $CORTADO_MODELS_DIR, or the repository's models/."""
    if os.environ.get(MODELS_ENV):
        return os.path.abspath(os.environ[MODELS_ENV])
    here = os.path.dirname(os.path.abspath(__file__))
    # Source tree (python/cortado) and build tree (build/python/cortado) both sit below the root.
    for up in (2, 3):
        candidate = os.path.join(here, *(['..'] * up), 'models')
        if os.path.isfile(os.path.join(candidate, 'README.md')):
            return os.path.abspath(candidate)
    raise ZooError('cannot find the models/ folder of the zoo; set %s' % MODELS_ENV)


def read_front_matter(readme_path):
    """The YAML between the leading '---' lines of a zoo readme, as a dict."""
    import yaml
    with open(readme_path, encoding='utf-8') as f:
        text = f.read()
    lines = text.split('\n')
    if not lines or lines[0].strip() != '---':
        raise ZooError('%s: no YAML front matter (the file must start with a --- line)'
                       % readme_path)
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == '---')
    except StopIteration:
        raise ZooError('%s: the YAML front matter has no closing --- line' % readme_path)
    try:
        meta = yaml.safe_load('\n'.join(lines[1:end])) or {}
    except yaml.YAMLError as e:
        raise ZooError('%s: bad YAML front matter: %s' % (readme_path, e))
    if not isinstance(meta, dict):
        raise ZooError('%s: the front matter is not a mapping' % readme_path)
    return meta


class Entry(object):
    """One model of the zoo: its folder, its metadata and the files it needs."""

    def __init__(self, name, folder, meta):
        self.name = name
        self.folder = folder
        self.meta = meta
        self.files = []  # dicts: name (local), source_name, url, sha1
        if meta.get('caffemodel'):
            self.files.append({'name': meta['caffemodel'],
                               'source_name': meta['caffemodel'],
                               'url': meta.get('caffemodel_url'),
                               'sha1': meta.get('sha1')})
        for item in meta.get('files') or []:
            item = dict(item)
            item.setdefault('source_name', item['name'])
            self.files.append(item)
        for item in self.files:
            if not item.get('sha1'):
                raise ZooError('%s: file %s has no sha1' % (self.readme, item['name']))

    @property
    def readme(self):
        return os.path.join(self.folder, 'readme.md')

    @property
    def title(self):
        return self.meta.get('name', self.name)

    def fetch_dir(self):
        """Where this entry's fetched files go."""
        if os.environ.get(FETCH_DIR_ENV):
            return os.path.join(os.environ[FETCH_DIR_ENV], self.name)
        return self.folder

    def path(self, local_name):
        """A file of the entry: committed in its folder, or fetched."""
        committed = os.path.join(self.folder, local_name)
        if os.path.exists(committed):
            return committed
        return os.path.join(self.fetch_dir(), local_name)


def entry_names():
    root = models_dir()
    return sorted(d for d in os.listdir(root)
                  if os.path.isfile(os.path.join(root, d, 'readme.md')))


def load_entry(name):
    folder = os.path.join(models_dir(), name)
    readme = os.path.join(folder, 'readme.md')
    if not os.path.isfile(readme):
        raise ZooError('no zoo entry %r (no %s); `cortado zoo list` shows the entries'
                       % (name, readme))
    return Entry(name, folder, read_front_matter(readme))


# --- Fetching -------------------------------------------------------------------

def sha1_of(path):
    digest = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _mirrors(mirror):
    if mirror:
        return [m for m in (mirror if isinstance(mirror, (list, tuple)) else [mirror]) if m]
    return [m for m in os.environ.get(MIRROR_ENV, '').split(os.pathsep) if m]


def _find_in_mirrors(mirrors, source_name, sha1):
    """The mirror file with this name and SHA-1; a ZooError if only other contents exist."""
    seen = []
    for mirror in mirrors:
        if not os.path.isdir(mirror):
            raise ZooError('mirror %s is not a folder' % mirror)
        for root, _, names in os.walk(mirror, followlinks=True):
            if source_name in names:
                candidate = os.path.join(root, source_name)
                if sha1_of(candidate) == sha1:
                    return candidate
                seen.append(candidate)
    if seen:
        raise ZooError('%s in the mirror has the wrong SHA-1 (expected %s): %s'
                       % (source_name, sha1, ', '.join(seen)))
    return None


class _Progress(object):
    """A one-line progress bar on a terminal, a line per 25 % otherwise (stderr)."""

    def __init__(self, label, total, quiet):
        self.label, self.total, self.quiet = label, total, quiet
        self.tty = sys.stderr.isatty()
        self.last_quarter = -1

    def update(self, done):
        if self.quiet:
            return
        if not self.total:
            if self.tty:
                sys.stderr.write('\r%s: %.1f MB' % (self.label, done / 1e6))
            return
        fraction = min(1.0, done / float(self.total))
        if self.tty:
            bar = '#' * int(fraction * 30)
            sys.stderr.write('\r%s [%-30s] %5.1f%% of %.1f MB'
                             % (self.label, bar, 100 * fraction, self.total / 1e6))
        elif int(fraction * 4) > self.last_quarter:
            self.last_quarter = int(fraction * 4)
            sys.stderr.write('%s: %d%% of %.1f MB\n'
                             % (self.label, 25 * self.last_quarter, self.total / 1e6))
        sys.stderr.flush()

    def finish(self):
        if self.tty and not self.quiet:
            sys.stderr.write('\n')


def _download(url, part_path, label, quiet):
    """Downloads url into part_path, resuming what part_path already holds and
    retrying dropped connections. Returns nothing; raises ZooError."""
    attempts = 0
    while True:
        attempts += 1
        have = os.path.getsize(part_path) if os.path.exists(part_path) else 0
        request = urllib.request.Request(url, headers={'User-Agent': 'cortado-zoo'})
        if have:
            request.add_header('Range', 'bytes=%d-' % have)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status = response.status
                length = response.headers.get('Content-Length')
                length = int(length) if length is not None else None
                if have and status == 206:
                    mode, total = 'ab', (have + length if length is not None else None)
                else:  # the server ignored the range (or there was none): start again
                    mode, total, have = 'wb', length, 0
                progress = _Progress(label, total, quiet)
                with open(part_path, mode) as out:
                    done = have
                    while True:
                        block = response.read(_CHUNK)
                        if not block:
                            break
                        out.write(block)
                        done += len(block)
                        progress.update(done)
                progress.finish()
                if total is not None and done < total:
                    raise http.client.IncompleteRead(b'', total - done)
                return
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:  # the range starts at the end: the file is complete
                return
            raise ZooError('%s: HTTP %d %s' % (url, e.code, e.reason))
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                TimeoutError, OSError) as e:
            if isinstance(e, urllib.error.URLError) and not os.path.exists(part_path):
                if attempts >= _MAX_ATTEMPTS:
                    raise ZooUnavailable('%s: cannot download: %s' % (url, e.reason))
            elif attempts >= _MAX_ATTEMPTS:
                raise ZooError('%s: download interrupted %d times, giving up (%s); run '
                               'fetch again to resume' % (url, attempts, e))
            if not quiet:
                sys.stderr.write('\n%s: connection lost (%s); resuming\n' % (label, e))
            time.sleep(min(2.0, 0.2 * attempts))


def fetch_file(entry, item, mirror=None, server=None, quiet=False):
    """Makes one file of an entry present and correct; returns its path."""
    committed = os.path.join(entry.folder, item['name'])
    target = os.path.join(entry.fetch_dir(), item['name'])
    for candidate in (committed, target):
        if os.path.exists(candidate) and sha1_of(candidate) == item['sha1']:
            return candidate
    part = target + '.part'
    mirrors = _mirrors(mirror)
    server = server or os.environ.get(SERVER_ENV)
    label = '%s/%s' % (entry.name, item['name'])
    if mirrors:
        source = _find_in_mirrors(mirrors, item['source_name'], item['sha1'])
        if source is None:
            raise ZooUnavailable('%s: no %s in the mirror (%s)'
                           % (entry.name, item['source_name'], os.pathsep.join(mirrors)))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, part)
    else:
        url = (server.rstrip('/') + '/' + item['source_name']) if server else item.get('url')
        if not url:
            raise ZooError('%s: %s has no URL to fetch it from' % (entry.readme, item['name']))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _download(url, part, label, quiet)
    actual = sha1_of(part)
    if actual != item['sha1']:
        os.remove(part)
        raise ZooError('%s: SHA-1 mismatch: got %s, expected %s (download discarded)'
                       % (label, actual, item['sha1']))
    os.replace(part, target)
    return target


def derive_deploy(entry, quiet=False):
    """Writes deploy.prototxt from a fetched train/test net (Data layers become an
    Input, TRAIN-only and label-reading layers go, a Softmax named `prob` ends it)."""
    spec = entry.meta.get('derive_deploy')
    if not spec:
        return None
    target = os.path.join(entry.fetch_dir(), 'deploy.prototxt')
    source = entry.path(spec['from'])
    if os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(source):
        return target
    from google.protobuf import text_format
    from .proto import caffe_pb2
    net = caffe_pb2.NetParameter()
    with open(source) as f:
        text_format.Merge(f.read(), net)
    deploy = caffe_pb2.NetParameter()
    deploy.name = net.name
    data_tops, label_tops = set(), set()
    last_top = None
    for layer in net.layer:
        phases = [rule.phase for rule in layer.include if rule.HasField('phase')]
        if phases and caffe_pb2.TEST not in phases:
            continue
        if layer.type in ('Data', 'ImageData', 'HDF5Data', 'MemoryData'):
            if data_tops:
                continue
            data_tops.update(layer.top)
            label_tops.update(layer.top[1:])
            new = deploy.layer.add()
            new.name, new.type = 'data', 'Input'
            new.top.append(layer.top[0])
            new.input_param.shape.add().dim.extend(spec['input'])
            continue
        if set(layer.bottom) & label_tops or 'Loss' in layer.type or layer.type == 'Accuracy':
            continue  # what reads the label has no place in a deploy net
        new = deploy.layer.add()
        new.CopyFrom(layer)
        del new.include[:]
        last_top = new.top[0] if new.top else last_top
    prob = deploy.layer.add()
    prob.name, prob.type = 'prob', 'Softmax'
    prob.bottom.append(last_top)
    prob.top.append('prob')
    part = target + '.part'
    with open(part, 'w') as f:
        f.write('# Derived by `cortado zoo fetch` from %s: Data -> Input, loss and accuracy '
                'removed, Softmax added.\n' % spec['from'])
        f.write(text_format.MessageToString(deploy))
    os.replace(part, target)
    return target


def fetch(name, mirror=None, server=None, quiet=False):
    """Fetches every file of an entry; returns {local name: path}."""
    entry = load_entry(name)
    paths = {}
    for item in entry.files:
        paths[item['name']] = fetch_file(entry, item, mirror, server, quiet)
    deploy = derive_deploy(entry, quiet)
    if deploy:
        paths['deploy.prototxt'] = deploy
    for local in os.listdir(entry.folder):
        paths.setdefault(local, os.path.join(entry.folder, local))
    return paths


def ensure(name, mirror=None, server=None, quiet=True):
    """The entry's files as {local name: absolute path}, fetching what is missing."""
    return {k: os.path.abspath(v) for k, v in fetch(name, mirror, server, quiet).items()}


# --- Verifying ------------------------------------------------------------------

def fixed_input(spec):
    """The deterministic input a check runs on: uniform in [low, high) from a seed
    (NumPy's legacy RandomState, whose stream is stable across versions)."""
    rng = np.random.RandomState(int(spec.get('seed', 1)))
    low, high = spec.get('range', [0.0, 1.0])
    return rng.uniform(low, high, size=spec['shape']).astype(np.float32)


def run_check(check, paths):
    """Runs one net of an entry on its fixed input; returns {output: array}."""
    import cortado
    net = cortado.Net(paths[check['net']], paths[check['weights']], cortado.TEST)
    feeds = {}
    for blob_name, spec in check['inputs'].items():
        data = fixed_input(spec)
        net.blobs[blob_name].reshape(*data.shape)
        feeds[blob_name] = data
    net.reshape()
    for blob_name, data in feeds.items():
        net.blobs[blob_name].data[...] = data
    net.forward()
    outputs = check.get('outputs') or net.outputs
    return {o: np.array(net.blobs[o].data, dtype=np.float32) for o in outputs}


def _idx_array(path):
    import gzip
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _find_idx(folder, base):
    for candidate in (os.path.join(folder, base), os.path.join(folder, base + '.gz')):
        if os.path.exists(candidate):
            return candidate
    return None


def measure_accuracy(spec, paths):
    """Top-1 accuracy over an IDX test set (Fashion-MNIST's layout); None if absent."""
    import cortado
    folder = os.path.expandvars(spec['idx_dir'])
    images_path = _find_idx(folder, spec['images'])
    labels_path = _find_idx(folder, spec['labels'])
    if not images_path or not labels_path:
        return None
    images = _idx_array(images_path).astype(np.float32) * float(spec.get('scale', 1.0))
    labels = _idx_array(labels_path)
    net = cortado.Net(paths[spec['net']], paths[spec['weights']], cortado.TEST)
    batch = int(spec.get('batch', 500))
    input_name = net.inputs[0]
    output = spec.get('output') or net.outputs[0]
    correct = 0
    for start in range(0, len(images), batch):
        chunk = images[start:start + batch]
        net.blobs[input_name].reshape(len(chunk), 1, chunk.shape[1], chunk.shape[2])
        net.reshape()
        net.blobs[input_name].data[...] = chunk[:, None]
        net.forward()
        scores = net.blobs[output].data.reshape(len(chunk), -1)
        correct += int((scores.argmax(axis=1) == labels[start:start + batch]).sum())
    return correct / float(len(images))


def verify(name, mirror=None, server=None, quiet=True):
    """Fetches and checks an entry. Returns a dict row: name, status, detail."""
    entry = load_entry(name)
    spec = entry.meta.get('verify') or {}
    row = {'name': name, 'sha1': 'ok', 'outputs': '-', 'accuracy': '-', 'status': 'ok'}
    paths = fetch(name, mirror, server, quiet)
    checks = spec.get('checks') or []
    if not checks and not spec.get('test_set'):
        row['status'] = 'fetched (no reference: %s)' % spec.get('why_no_reference',
                                                                'none recorded')
        return row
    worst = 0.0
    for check in checks:
        reference_path = os.path.join(entry.folder, check['reference'])
        if not os.path.exists(reference_path):
            raise ZooError('%s: reference outputs %s are missing' % (name, reference_path))
        reference = np.load(reference_path)
        got = run_check(check, paths)
        tolerance = float(check.get('tolerance', 1e-4))
        for output in reference.files:
            if output not in got:
                raise ZooError('%s: the net has no output %r that %s holds'
                               % (name, output, check['reference']))
            expected = reference[output]
            if got[output].size != expected.size:
                raise ZooError('%s: output %s has %d values, the reference %d'
                               % (name, output, got[output].size, expected.size))
            scale = max(float(np.abs(expected).max()), 1e-12)
            relative = float(np.abs(got[output].reshape(expected.shape) - expected).max()) / scale
            worst = max(worst, relative)
            if relative > tolerance:
                row['status'] = 'FAILED'
                row['detail'] = ('%s: %s differs from the reference by %.2e of its scale '
                                 '(limit %.0e)' % (check['net'], output, relative, tolerance))
    if checks:
        row['outputs'] = '%.1e' % worst
    test_set = spec.get('test_set')
    if test_set:
        accuracy = measure_accuracy(test_set, paths)
        if accuracy is None:
            row['accuracy'] = 'no test set here'
        else:
            row['accuracy'] = '%.4f' % accuracy
            if accuracy < float(test_set['min_accuracy']):
                row['status'] = 'FAILED'
                row['detail'] = 'accuracy %.4f is below %.4f' % (accuracy,
                                                                   test_set['min_accuracy'])
    return row


# --- Command line ---------------------------------------------------------------

def _print_table(rows, columns):
    widths = [max(len(c), *(len(str(r.get(c, ''))) for r in rows)) for c in columns]
    print('  '.join(c.ljust(w) for c, w in zip(columns, widths)))
    print('  '.join('-' * w for w in widths))
    for r in rows:
        print('  '.join(str(r.get(c, '')).ljust(w) for c, w in zip(columns, widths)))


def _list(_):
    rows = []
    for name in entry_names():
        entry = load_entry(name)
        present = all(os.path.exists(entry.path(i['name'])) and
                      sha1_of(entry.path(i['name'])) == i['sha1'] for i in entry.files)
        rows.append({'name': name, 'title': entry.title,
                     'license': entry.meta.get('license', '?'),
                     'files': 'present' if present else 'not fetched'})
    _print_table(rows, ['name', 'title', 'license', 'files'])
    return 0


def _names(args):
    if args.all:
        return entry_names()
    if not args.names:
        raise ZooError('name a zoo entry (or --all); `cortado zoo list` shows them')
    return args.names


def _fetch(args):
    for name in _names(args):
        paths = fetch(name, args.mirror, args.server, args.quiet)
        entry = load_entry(name)
        for item in entry.files:
            print('%s: %s (SHA-1 %s ok)' % (name, paths[item['name']], item['sha1']))
    return 0


def _verify(args):
    rows, failed = [], 0
    for name in _names(args):
        start = time.time()
        try:
            row = verify(name, args.mirror, args.server, args.quiet)
        except ZooUnavailable as e:
            row = {'name': name, 'status': 'unavailable', 'detail': str(e)}
        except ZooError as e:
            row = {'name': name, 'status': 'FAILED', 'detail': str(e)}
        row['seconds'] = '%.1f' % (time.time() - start)
        failed += row['status'] == 'FAILED'
        rows.append(row)
    _print_table(rows, ['name', 'sha1', 'outputs', 'accuracy', 'seconds', 'status'])
    for row in rows:
        if row.get('detail'):
            print('%s: %s' % (row['name'], row['detail']), file=sys.stderr)
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog='cortado zoo', description='The Cortado model zoo.')
    sub = parser.add_subparsers(dest='command')
    sub.add_parser('list', help='entries and whether their files are here')
    for command, helptext in (('fetch', 'download an entry\'s files and check their SHA-1'),
                              ('verify', 'fetch, run on the fixed input and compare')):
        p = sub.add_parser(command, help=helptext)
        p.add_argument('names', nargs='*')
        p.add_argument('--all', action='store_true', help='every entry')
        p.add_argument('--mirror', action='append',
                       help='a local folder to read files from by name and SHA-1 (also $%s)'
                       % MIRROR_ENV)
        p.add_argument('--server', help='a base URL serving files by name (also $%s)'
                       % SERVER_ENV)
        p.add_argument('--quiet', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return {'list': _list, 'fetch': _fetch, 'verify': _verify}[args.command](args)
    except ZooError as e:
        print('cortado zoo: %s' % e, file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
