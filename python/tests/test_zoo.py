"""The model zoo: entry metadata, fetching from mirrors and over a loopback HTTP server
(resume, SHA-1 mismatch, 404), derived deploy nets, and verify against the references
OpenCV dnn recorded. Everything reads local files (../shared stands in for the servers)."""
import hashlib
import http.server
import os
import subprocess
import sys
import threading

import pytest

from conftest import REPO

from cortado import zoo

SHARED = os.path.join(REPO, '..', 'shared')
MIRRORS = [os.path.join(SHARED, 'zoo'), os.path.join(SHARED, 'conformance')]
# Entries whose published files the stand-in mirrors hold.
PUBLISHED = ['lenet_mnist', 'cifar10_quick', 'cifar10_resnet20', 'cifar10_resnet56', 'mtcnn',
             'ultraface_rfb320', 'ultraface_slim320']
BVLC = ['bvlc_reference_caffenet', 'bvlc_alexnet', 'bvlc_googlenet',
        'bvlc_reference_rcnn_ilsvrc13', 'finetune_flickr_style']
# Trained by Cortado, weights committed.
OWN = ['lenet', 'fashion_mnist_cnn']


def need_shared():
    if not os.path.isdir(os.path.join(SHARED, 'zoo')):
        pytest.skip('../shared/zoo is missing: the zoo tests read it as a mirror')


@pytest.fixture
def fetch_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(zoo.FETCH_DIR_ENV, str(tmp_path / 'fetched'))
    monkeypatch.delenv(zoo.MIRROR_ENV, raising=False)
    monkeypatch.delenv(zoo.SERVER_ENV, raising=False)
    return tmp_path / 'fetched'


# --- Entries ----------------------------------------------------------------------

def test_every_entry_is_listed_and_well_formed():
    names = zoo.entry_names()
    for name in PUBLISHED + BVLC + OWN:
        assert name in names
    for name in names:
        entry = zoo.load_entry(name)
        for key in ('name', 'license', 'source', 'dataset', 'input_size', 'preprocessing',
                    'accuracy'):
            assert key in entry.meta, '%s lacks %s' % (name, key)
        assert entry.files, name
        for item in entry.files:
            assert len(item['sha1']) == 40 and int(item['sha1'], 16) >= 0
            committed = os.path.isfile(os.path.join(entry.folder, item['name']))
            assert committed or item['url'].startswith(('http://', 'https://')), (name, item)
        labels = entry.meta.get('labels')
        if labels:
            assert os.path.isfile(os.path.join(entry.folder, labels)), (name, labels)


def test_committed_weights_match_their_sha1():
    for name in OWN:
        entry = zoo.load_entry(name)
        committed = os.path.join(entry.folder, entry.meta['caffemodel'])
        assert os.path.isfile(committed), committed
        assert zoo.sha1_of(committed) == entry.meta['sha1']
        for check in entry.meta['verify']['checks']:
            assert os.path.isfile(os.path.join(entry.folder, check['reference']))


def test_unknown_entry_and_bad_front_matter(tmp_path, monkeypatch):
    with pytest.raises(zoo.ZooError, match="no zoo entry 'nonesuch'"):
        zoo.load_entry('nonesuch')
    (tmp_path / 'bad').mkdir()
    (tmp_path / 'README.md').write_text('zoo')
    (tmp_path / 'bad' / 'readme.md').write_text('---\nname: [unclosed\n---\n')
    monkeypatch.setenv(zoo.MODELS_ENV, str(tmp_path))
    with pytest.raises(zoo.ZooError, match='bad YAML'):
        zoo.load_entry('bad')
    (tmp_path / 'bad' / 'readme.md').write_text('# no front matter\n')
    with pytest.raises(zoo.ZooError, match='no YAML front matter'):
        zoo.load_entry('bad')


# --- Mirrors ----------------------------------------------------------------------

def test_fetch_from_mirror_checks_sha1(fetch_dir):
    need_shared()
    paths = zoo.ensure('mtcnn', mirror=MIRRORS)
    entry = zoo.load_entry('mtcnn')
    assert len(entry.files) == 8
    for item in entry.files:
        assert paths[item['name']].startswith(str(fetch_dir))
        assert zoo.sha1_of(paths[item['name']]) == item['sha1']
    assert not [f for f in os.listdir(fetch_dir / 'mtcnn') if f.endswith('.part')]


def test_mirror_with_other_contents_is_refused(fetch_dir, tmp_path):
    need_shared()
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    (mirror / 'RFB-320.caffemodel').write_bytes(b'not the weights')
    (mirror / 'RFB-320.prototxt').write_bytes(b'not the net')
    with pytest.raises(zoo.ZooError, match='wrong SHA-1'):
        zoo.fetch('ultraface_rfb320', mirror=[str(mirror)])
    assert not (fetch_dir / 'ultraface_rfb320' / 'RFB-320.caffemodel').exists()


def test_bvlc_entries_are_unavailable_here_not_broken(fetch_dir):
    need_shared()
    with pytest.raises(zoo.ZooUnavailable, match='bvlc_googlenet.caffemodel'):
        zoo.fetch('bvlc_googlenet', mirror=MIRRORS)


def test_derived_deploy_net(fetch_dir):
    need_shared()
    from google.protobuf import text_format
    from cortado.proto import caffe_pb2
    paths = zoo.ensure('cifar10_resnet20', mirror=MIRRORS)
    net = caffe_pb2.NetParameter()
    with open(paths['deploy.prototxt']) as f:
        text_format.Merge(f.read(), net)
    types = [layer.type for layer in net.layer]
    assert types[0] == 'Input' and list(net.layer[0].input_param.shape[0].dim) == [1, 3, 32, 32]
    assert types[-1] == 'Softmax' and net.layer[-1].top == ['prob']
    assert 'Data' not in types and 'Accuracy' not in types
    assert not [t for t in types if 'Loss' in t]
    assert types.count('Eltwise') == 9 and types.count('BatchNorm') == 21  # 19 convolutions + 2 projections


@pytest.mark.parametrize('name', PUBLISHED)
def test_verify_published_entry(fetch_dir, name):
    need_shared()
    row = zoo.verify(name, mirror=MIRRORS)
    assert row['status'] == 'ok', row
    assert float(row['outputs']) <= 1e-4


def test_verify_detects_a_wrong_reference(fetch_dir, tmp_path, monkeypatch):
    need_shared()
    import shutil
    import numpy as np
    models = tmp_path / 'models'
    shutil.copytree(os.path.join(REPO, 'models', 'lenet_mnist'), models / 'lenet_mnist')
    (models / 'README.md').write_text('zoo')
    reference = dict(np.load(models / 'lenet_mnist' / 'reference.npz'))
    reference['ip2'] = reference['ip2'] * 1.01
    np.savez(models / 'lenet_mnist' / 'reference.npz', **reference)
    monkeypatch.setenv(zoo.MODELS_ENV, str(models))
    row = zoo.verify('lenet_mnist', mirror=MIRRORS)
    assert row['status'] == 'FAILED' and 'ip2 differs' in row['detail']


# --- HTTP -------------------------------------------------------------------------

class _Server(object):
    """Serves ../shared/zoo files by base name on 127.0.0.1, with faults on demand."""

    def __init__(self):
        self.files = {}
        for mirror in MIRRORS:
            for root, _, names in os.walk(mirror):
                for n in names:
                    self.files.setdefault(n, os.path.join(root, n))
        self.drop_after = {}   # name -> bytes sent before the first response is cut
        self.corrupt = set()   # names served with one byte changed
        self.requests = []     # (name, Range header)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.rsplit('/', 1)[-1]
                outer.requests.append((name, self.headers.get('Range')))
                if name not in outer.files:
                    self.send_error(404, 'Not Found')
                    return
                with open(outer.files[name], 'rb') as f:
                    data = f.read()
                if name in outer.corrupt:
                    data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
                start = 0
                ranged = self.headers.get('Range')
                if ranged:
                    start = int(ranged.split('=')[1].split('-')[0])
                    self.send_response(206)
                    self.send_header('Content-Range', 'bytes %d-%d/%d'
                                     % (start, len(data) - 1, len(data)))
                else:
                    self.send_response(200)
                self.send_header('Content-Length', str(len(data) - start))
                self.end_headers()
                cut = outer.drop_after.pop(name, None)
                body = data[start:] if cut is None else data[start:start + cut]
                self.wfile.write(body)
                if cut is not None:
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d/files' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    need_shared()
    s = _Server()
    yield s
    s.close()


def test_http_download_resumes_after_a_dropped_connection(fetch_dir, server):
    server.drop_after['RFB-320.caffemodel'] = 300000
    paths = zoo.ensure('ultraface_rfb320', server=server.url)
    weights = paths['RFB-320.caffemodel']
    assert zoo.sha1_of(weights) == zoo.load_entry('ultraface_rfb320').meta['sha1']
    ranges = [r for n, r in server.requests if n == 'RFB-320.caffemodel']
    assert ranges == [None, 'bytes=300000-']
    assert not os.path.exists(weights + '.part')


def test_http_resumes_a_part_file_left_by_an_earlier_run(fetch_dir, server):
    entry_dir = fetch_dir / 'ultraface_slim320'
    entry_dir.mkdir(parents=True)
    with open(server.files['slim-320.caffemodel'], 'rb') as f:
        (entry_dir / 'slim-320.caffemodel.part').write_bytes(f.read()[:5000])
    zoo.ensure('ultraface_slim320', server=server.url)
    assert ('slim-320.caffemodel', 'bytes=5000-') in server.requests


def test_http_sha1_mismatch_leaves_no_file(fetch_dir, server):
    server.corrupt.add('RFB-320.caffemodel')
    with pytest.raises(zoo.ZooError, match='SHA-1 mismatch'):
        zoo.fetch('ultraface_rfb320', server=server.url)
    folder = fetch_dir / 'ultraface_rfb320'
    assert not (folder / 'RFB-320.caffemodel').exists()
    assert not (folder / 'RFB-320.caffemodel.part').exists()


def test_http_404_is_a_clear_error(fetch_dir, server):
    del server.files['det3.caffemodel']
    with pytest.raises(zoo.ZooError, match=r'det3.caffemodel: HTTP 404'):
        zoo.fetch('mtcnn', server=server.url)
    assert not (fetch_dir / 'mtcnn' / 'det3.caffemodel').exists()


# --- Command lines ----------------------------------------------------------------

def _env(fetch_dir):
    env = dict(os.environ)
    env[zoo.MIRROR_ENV] = os.pathsep.join(MIRRORS)
    env[zoo.FETCH_DIR_ENV] = str(fetch_dir)
    return env


def test_cortado_zoo_verify_all_prints_a_table(fetch_dir):
    need_shared()
    tool = os.environ.get('CORTADO_TOOL', os.path.join(REPO, 'build', 'cortado'))
    result = subprocess.run([tool, 'zoo', 'verify', '--all', '--quiet'], env=_env(fetch_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    for name in PUBLISHED + OWN:
        assert rows[name].rstrip().endswith('ok'), rows[name]
    for name in BVLC:
        assert rows[name].rstrip().endswith('unavailable'), rows[name]
    assert '0.9' in rows['fashion_mnist_cnn']  # its measured test accuracy


def test_cortado_zoo_list_and_bad_name(fetch_dir):
    tool = os.environ.get('CORTADO_TOOL', os.path.join(REPO, 'build', 'cortado'))
    listing = subprocess.run([tool, 'zoo', 'list'], stdout=subprocess.PIPE, timeout=60)
    assert listing.returncode == 0 and b'ultraface_rfb320' in listing.stdout
    bad = subprocess.run([tool, 'zoo', 'fetch', 'nonesuch'], stderr=subprocess.PIPE, timeout=60)
    assert bad.returncode == 1 and b"no zoo entry 'nonesuch'" in bad.stderr


def test_download_model_binary_script(tmp_path, monkeypatch):
    need_shared()
    import shutil
    models = tmp_path / 'models'
    shutil.copytree(os.path.join(REPO, 'models', 'cifar10_quick'), models / 'cifar10_quick')
    env = _env(tmp_path / 'unused')
    result = subprocess.run([sys.executable, os.path.join(REPO, 'scripts',
                                                          'download_model_binary.py'),
                             str(models / 'cifar10_quick')], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    weights = models / 'cifar10_quick' / 'cifar10_quick_iter_5000.caffemodel'
    assert hashlib.sha1(weights.read_bytes()).hexdigest() == \
        'ce89ec8045e2b3aac81d4dc5ee041abf776c633c'
