#!/usr/bin/python3
"""Bad-input campaign: runs Cortado's command-line tools on malformed inputs.

Each input class (net prototxts, weights, LMDBs, mean files, IDX files,
solver states, compute_image_mean databases) generates cases into a work
directory, runs the tool on each case, one process at a time, with a 10 s
timeout and a memory limit, and sorts the outcome into:

  clean error          non-zero exit, no signal, and the last stderr line is
                       the tool's one-line message ("cortado: error: ...").
  accepted (valid)     exit 0 on an input that may still be valid after the
                       mutation (a flipped byte inside float weights, a
                       zeroed LMDB page that no read touches, ...).
  exit 0 on bad input  exit 0 on an input that is definitely invalid.
  crash                killed by a signal, or stderr shows "Check failed",
                       "terminate called", a sanitizer report, "internal
                       error" or a stack dump.
  hang                 still running after the timeout.
  unclear error        non-zero exit whose last stderr line is not the
                       tool's one-line message (usage text, a library's
                       stray output).

Every case states which of "bad" (must fail cleanly) and "maybe" (may be
valid after the mutation) it expects; "valid" marks the one unmodified
control case per class, which checks that the harness itself works.

This is a benchmark-style script, run on demand and not part of the tests:

  /usr/bin/python3 bench/bad_inputs.py             # full campaign
  /usr/bin/python3 bench/bad_inputs.py --quick     # every 5th case
  /usr/bin/python3 bench/bad_inputs.py --only nets,weights --keep /tmp/bad

It needs the Release build (build/, or --build-dir), its generated Python
protobuf module (build/python/cortado/proto/caffe_pb2.py), a Python 3 with
the protobuf package (/usr/bin/python3 here; numpy is not needed), and
liblmdb, loaded through ctypes, for the hand-crafted databases (the `lmdb`
Python module is not required). The Fashion-MNIST test set in
/usr/share/datasets/fashion-mnist/ gives realistic images; without it random
images are used. Each tool run gets a heap limit (--memory-mib, 4096 by
default), so an unchecked huge allocation shows up as a std::bad_alloc
"internal error" (a crash) instead of exhausting the machine.

With --keep DIR every case is written under DIR/<class>/<number>/ and the
failing ones stay there with repro.sh (the exact command) and stderr.txt.
Exit status: 0 when every case is a clean error or accepted, 1 when any case
crashed, hung or exited 0 on bad input, 2 when a control case failed (the
harness, not the tool, is broken).
"""

import argparse
import ctypes
import ctypes.util
import dataclasses
import gzip
import importlib.util
import math
import os
from pathlib import Path
import random
import re
import resource
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional
import zlib

REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 10
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

# Expectations a case declares.
BAD = "bad"
MAYBE = "maybe"
VALID = "valid"

# Outcome classes, in table order.
CLEAN = "clean error"
ACCEPTED = "accepted (valid)"
EXIT0_BAD = "exit 0 on bad input"
CRASH = "crash"
HANG = "hang"
UNCLEAR = "unclear error"
OUTCOMES = [CLEAN, ACCEPTED, EXIT0_BAD, CRASH, HANG, UNCLEAR]
FAILURES = {EXIT0_BAD, CRASH, HANG}

# Text that means the process died in an uncontrolled way even when it
# managed to exit with a plain status (a caught std::exception reported as
# "internal error" is a bug: every bad input deserves a cortado::Error).
CRASH_MARKERS = [
    "Check failed", "terminate called", "AddressSanitizer", "LeakSanitizer",
    "runtime error:", "internal error", "*** Aborted", "*** SIG",
    "*** Check failure stack trace",
]

# Pages are 4 KiB in every LMDB this script sees (the x86-64 default).
LMDB_PAGE = 4096

# The four layers of LeNet that hold parameters, with their blob shapes.
LENET_PARAMS = {
    "conv1": [[20, 1, 5, 5], [20]],
    "conv2": [[50, 20, 5, 5], [50]],
    "ip1": [[500, 800], [500]],
    "ip2": [[10, 500], [10]],
}


# ---------------------------------------------------------------------------
# Cases and outcomes.


@dataclasses.dataclass
class Run:
    """What a built case runs: argv, a description, and the expectation.

    Attributes:
      argv: the command; relative paths are relative to the repository root.
      desc: what is wrong with the input, for the report.
      expect: BAD, MAYBE or VALID; None keeps the expectation of the Case.
    """
    argv: List[str]
    desc: str
    expect: Optional[str] = None


@dataclasses.dataclass
class Case:
    """One bad input. `build(dir, rng)` writes its files and returns a Run.

    Building is deferred so that --quick skips the work of unused cases, and
    each case gets its own random generator (seeded from --seed, the class and
    the case number) so that a case is the same in quick and full runs.
    """
    expect: str
    build: Callable[[Path, random.Random], Run]


@dataclasses.dataclass
class Result:
    cls: str
    index: int
    desc: str
    expect: str
    outcome: str
    returncode: Optional[int]
    last_line: str
    seconds: float


def parse_quietly(message, data: bytes) -> bool:
    """message.ParseFromString(data); False when the bytes do not parse.

    The C++ protobuf backend complains about invalid UTF-8 on fd 2, which
    would interleave with the progress lines, so fd 2 is muted meanwhile.
    """
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            message.ParseFromString(data)
        return True
    except Exception:  # DecodeError, or others on odd bytes
        return False
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def last_nonempty_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""


def classify(tool: str, returncode: Optional[int], timed_out: bool, stderr: str,
             expect: str) -> str:
    """Sorts one run into an outcome class (see the module docstring)."""
    if timed_out:
        return HANG
    if returncode < 0 or any(marker in stderr for marker in CRASH_MARKERS):
        return CRASH
    if returncode == 0:
        return EXIT0_BAD if expect == BAD else ACCEPTED
    # Cortado's tools end a failure with "<tool>: error: ..." (convert_mnist
    # with "convert_mnist: ..."); anything else is not a message a user can act
    # on, e.g. gflags' usage text or a library's diagnostics.
    if last_nonempty_line(stderr).startswith(tool + ":"):
        return CLEAN
    return UNCLEAR


def set_child_limits(memory_mib: int) -> Callable[[], None]:
    """Returns a preexec_fn that caps the child's heap.

    A bad size field can make a tool allocate tens of GiB; on a shared machine
    without swap that would wake the OOM killer for everyone. Under the cap
    such an allocation fails instead (std::bad_alloc, reported as a crash:
    the size should have been rejected before it was allocated). RLIMIT_DATA
    rather than RLIMIT_AS: LMDB maps a 1 TiB file-backed window, which the
    address-space limit would refuse and the data limit does not count.
    """
    def limit():
        if memory_mib > 0:
            size = memory_mib << 20
            resource.setrlimit(resource.RLIMIT_DATA, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files in the tree
    return limit


def execute(argv: List[str], memory_mib: int):
    """Runs argv from the repository root; returns (returncode, timed_out, stderr)."""
    env = dict(os.environ)
    # One thread per tool: the cases run one at a time on a shared machine.
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=set_child_limits(memory_mib))
    try:
        _, err = proc.communicate(timeout=TIMEOUT_S)
        timed_out = False
    except subprocess.TimeoutExpired:
        # The tool runs in its own session: kill it and anything it started.
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        timed_out = True
    return proc.returncode, timed_out, err.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------
# Byte-level mutations.


def flip_bytes(data: bytes, rng: random.Random, count: int, start: int = 0):
    """XORs `count` random bytes at or after `start` with a non-zero mask."""
    out = bytearray(data)
    positions = sorted(rng.randrange(start, len(out)) for _ in range(count))
    for pos in positions:
        out[pos] ^= rng.randrange(1, 256)
    return bytes(out), positions


def random_bytes(rng: random.Random, size: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(size))


def write(path: Path, data) -> Path:
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def written(path: Path, data, desc: str) -> str:
    """Writes `data` to `path` and returns `desc`: a one-line case builder."""
    write(path, data)
    return desc


def made_dir(path: Path, desc: str) -> str:
    """Makes `path` a directory where a file is expected; returns `desc`."""
    path.mkdir()
    return desc


def png(width: int, height: int, pixels: bytes) -> bytes:
    """A minimal 8-bit greyscale PNG, written by hand to need no image library."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    rows = b"".join(b"\0" + pixels[r * width:(r + 1) * width] for r in range(height))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def idx_file(magic_type: int, dims: List[int], payload: bytes) -> bytes:
    """An IDX file: 0 0 <type> <ndims>, big-endian uint32 dims, then the data."""
    return bytes([0, 0, magic_type, len(dims)]) + struct.pack(">%dI" % len(dims), *dims) + payload


# ---------------------------------------------------------------------------
# LMDB through ctypes (the `lmdb` Python module is not installed here).


class MdbVal(ctypes.Structure):
    _fields_ = [("mv_size", ctypes.c_size_t), ("mv_data", ctypes.c_void_p)]


class LmdbWriter:
    """Writes small LMDBs with liblmdb, the library the tools read them with."""

    def __init__(self):
        name = ctypes.util.find_library("lmdb") or "liblmdb.so.0"
        self.lib = ctypes.CDLL(name)

    def _check(self, rc: int, what: str):
        if rc != 0:
            self.lib.mdb_strerror.restype = ctypes.c_char_p
            raise RuntimeError("%s: %s" % (what, self.lib.mdb_strerror(rc).decode()))

    def write(self, path: Path, records: List[tuple]):
        """Creates the LMDB directory `path` holding (key, value) byte pairs."""
        path.mkdir(parents=True, exist_ok=True)
        lib = self.lib
        env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
        self._check(lib.mdb_env_create(ctypes.byref(env)), "mdb_env_create")
        try:
            self._check(lib.mdb_env_set_mapsize(env, ctypes.c_size_t(1 << 28)),
                        "mdb_env_set_mapsize")
            self._check(lib.mdb_env_open(env, str(path).encode(), 0, 0o644), "mdb_env_open")
            self._check(lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)), "mdb_txn_begin")
            self._check(lib.mdb_dbi_open(txn, None, 0, ctypes.byref(dbi)), "mdb_dbi_open")
            for key, value in records:
                kbuf = ctypes.create_string_buffer(key, len(key))
                vbuf = ctypes.create_string_buffer(value, max(len(value), 1))
                k = MdbVal(len(key), ctypes.cast(kbuf, ctypes.c_void_p))
                v = MdbVal(len(value), ctypes.cast(vbuf, ctypes.c_void_p))
                self._check(lib.mdb_put(txn, dbi, ctypes.byref(k), ctypes.byref(v), 0), "mdb_put")
            self._check(lib.mdb_txn_commit(txn), "mdb_txn_commit")
        finally:
            lib.mdb_env_close(env)


# ---------------------------------------------------------------------------
# Shared inputs, built once per run.


def load_caffe_pb2(build_dir: Path):
    """Imports the generated caffe_pb2 from the build without the cortado package.

    Importing the package would load the C++ extension, which the other
    processes of this machine may be relinking; the protobuf module alone
    is enough here.
    """
    path = build_dir / "python" / "cortado" / "proto" / "caffe_pb2.py"
    if not path.exists():
        sys.exit("bad_inputs: %s is missing; build the python target first" % path)
    spec = importlib.util.spec_from_file_location("bad_inputs_caffe_pb2", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Fixtures:
    """Valid inputs that the cases start from, built lazily under `root`."""

    def __init__(self, root: Path, build_dir: Path, memory_mib: int):
        self.root = root
        self.build_dir = build_dir
        self.memory_mib = memory_mib
        self.pb = load_caffe_pb2(build_dir)
        try:
            self.lmdb = LmdbWriter()
        except OSError:
            self.lmdb = None
        self._cache = {}
        # A --keep directory may hold the fixtures of an earlier run, and
        # convert_mnist refuses to overwrite a database.
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)

    def tool(self, name: str) -> str:
        return str(self.build_dir / name)

    def _once(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # -- images --

    def images(self, count: int = 200):
        """`count` 28x28 images and labels: Fashion-MNIST's test set if present."""
        def make():
            images_gz = FASHION_MNIST / "t10k-images-idx3-ubyte.gz"
            labels_gz = FASHION_MNIST / "t10k-labels-idx1-ubyte.gz"
            if images_gz.exists() and labels_gz.exists():
                with gzip.open(images_gz) as f:
                    pixels = f.read(16 + count * 784)[16:]
                with gzip.open(labels_gz) as f:
                    labels = f.read(8 + count)[8:]
            else:
                rng = random.Random(0)
                pixels = random_bytes(rng, count * 784)
                labels = bytes(rng.randrange(10) for _ in range(count))
            return pixels, labels
        return self._once(("images", count), make)

    def idx_pair(self, count: int = 200):
        """Valid uncompressed IDX image and label files holding `count` items."""
        def make():
            pixels, labels = self.images(count)
            folder = self.root / ("idx%d" % count)
            folder.mkdir(exist_ok=True)
            return (write(folder / "images.idx3-ubyte", idx_file(8, [count, 28, 28], pixels)),
                    write(folder / "labels.idx1-ubyte", idx_file(8, [count], labels)))
        return self._once(("idx", count), make)

    def small_lmdb(self) -> Path:
        """200 Fashion-MNIST records: the test net's two batches of 100 read all
        of them, so a corruption anywhere in the data is seen."""
        def make():
            images, labels = self.idx_pair(200)
            out = self.root / "small_lmdb"
            code, _, err = execute([self.tool("convert_mnist"), str(images), str(labels), str(out)],
                                   self.memory_mib)
            if code != 0:
                sys.exit("bad_inputs: cannot build the fixture LMDB:\n" + err)
            return out
        return self._once("small_lmdb", make)

    # -- protos --

    def datum(self, index: int = 0):
        pixels, labels = self.images(200)
        d = self.pb.Datum(channels=1, height=28, width=28, label=labels[index])
        d.data = pixels[index * 784:(index + 1) * 784]
        return d

    def valid_mean(self):
        mean = self.pb.BlobProto(num=1, channels=1, height=28, width=28)
        mean.data.extend([33.0] * 784)
        return mean

    def weights(self):
        def make():
            net = self.pb.NetParameter()
            net.ParseFromString((REPO / "models/lenet/lenet_fashion_mnist.caffemodel").read_bytes())
            return net
        return self._once("weights", make)

    # -- nets and solvers --

    def train_test_net(self, path: Path, test_source: Optional[Path] = None,
                       mean_file: Optional[Path] = None) -> Path:
        """LeNet's train/test net reading the small LMDB (or `test_source` in TEST)."""
        text = (REPO / "models/lenet/lenet_train_test.prototxt").read_text()
        small = str(self.small_lmdb())
        text = replace_once(text, "data/fashion_mnist/fashion_mnist_train_lmdb", small)
        text = replace_once(text, "data/fashion_mnist/fashion_mnist_test_lmdb",
                            str(test_source or small))
        if mean_file is not None:
            old = "transform_param { scale: 0.00390625 }"
            if text.count(old) != 2:
                sys.exit("bad_inputs: lenet_train_test.prototxt changed; update train_test_net()")
            new = 'transform_param { scale: 0.00390625 mean_file: "%s" }' % mean_file
            text = text.replace(old, new)
        return write(path, text)

    def shared_net(self) -> Path:
        return self._once("net", lambda: self.train_test_net(self.root / "train_test.prototxt"))

    def solver(self, path: Path, max_iter: int, extra: str = "", prefix: Optional[Path] = None,
               policy: str = 'lr_policy: "inv"\ngamma: 0.0001\npower: 0.75') -> Path:
        """A LeNet solver that trains `max_iter` iterations and never tests."""
        text = "\n".join([
            'net: "%s"' % self.shared_net(),
            "test_iter: 1", "test_interval: 1000000", "test_initialization: false",
            "base_lr: 0.01", "momentum: 0.9", "weight_decay: 0.0005", policy,
            "display: 0", "max_iter: %d" % max_iter, "snapshot: 0",
            'snapshot_prefix: "%s"' % (prefix or path.parent / "snap"),
            "solver_mode: CPU", extra, ""])
        return write(path, text)

    def hdf5_snapshot(self):
        """(caffemodel.h5, solverstate.h5) from one training iteration, or None
        when this build cannot write HDF5 snapshots."""
        def make():
            folder = self.root / "h5"
            folder.mkdir(exist_ok=True)
            solver = self.solver(folder / "solver.prototxt", 1, "snapshot_format: HDF5",
                                 prefix=folder / "lenet")
            code, _, err = execute([self.tool("cortado"), "train", "--solver=%s" % solver],
                                   self.memory_mib)
            model = folder / "lenet_iter_1.caffemodel.h5"
            state = folder / "lenet_iter_1.solverstate.h5"
            if code != 0 or not model.exists() or not state.exists():
                print("bad_inputs: no HDF5 snapshot (%s); skipping HDF5 cases" %
                      last_nonempty_line(err), file=sys.stderr)
                return None
            return model, state
        return self._once("h5", make)


def replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise ValueError("expected exactly one %r in the base file" % old)
    return text.replace(old, new)


def lmdb_records(fx: Fixtures, datums: List[bytes]) -> List[tuple]:
    return [(b"%08d" % i, value) for i, value in enumerate(datums)]


def crafted_datum_cases(fx: Fixtures, run: Callable[[Path], Run],
                        labels_matter: bool) -> List[Case]:
    """LMDBs written record by record, each holding one hand-made bad Datum
    among valid ones; `run(db)` turns the database into the command to run.
    A label outside the net's classes is only bad where labels are used."""
    if fx.lmdb is None:
        return []
    pb = fx.pb

    def db_with(bad_value: Optional[bytes], desc: str, expect: str, count: int = 5) -> Case:
        def build(d: Path, rng: random.Random) -> Run:
            values = [fx.datum(i).SerializeToString() for i in range(count)]
            if bad_value is not None:
                values[count // 2] = bad_value
            fx.lmdb.write(d / "db", lmdb_records(fx, values))
            r = run(d / "db")
            r.desc = "crafted LMDB: " + desc
            return r
        return Case(expect, build)

    def datum(**fields) -> bytes:
        d = pb.Datum(**fields)
        return d.SerializeToString()

    grey = fx.datum(0).data
    return [
        db_with(datum(channels=3, height=100000, width=100000, label=1),
                "Datum 3x100000x100000 with no data", BAD),
        db_with(datum(channels=1, height=-28, width=28, data=grey, label=1),
                "Datum with height -28", BAD),
        db_with(datum(channels=1, height=28, width=28, data=grey[:700], label=1),
                "Datum 1x28x28 holding 700 bytes", BAD),
        db_with(datum(channels=1, height=32, width=32, data=bytes(1024), label=1),
                "one Datum 32x32 among 28x28 ones", BAD),
        db_with(datum(channels=2147483647, height=2147483647, width=2147483647, label=1),
                "Datum 2^31-1 cubed, no data", BAD),
        db_with(datum(label=1), "Datum with no dims and no data", BAD),
        db_with(datum(channels=1, height=28, width=28, data=grey, label=1000),
                "label 1000 for a 10-class net", BAD if labels_matter else MAYBE),
        db_with(datum(channels=1, height=28, width=28, data=grey, label=-5),
                "label -5", BAD if labels_matter else MAYBE),
        db_with(datum(channels=1, height=28, width=28, float_data=[float("nan")] * 784, label=1),
                "float_data all NaN", MAYBE),
        db_with(datum(encoded=True, data=b"\x89PNG\r\n\x1a\nthis is not a png", label=1),
                "encoded Datum with garbage bytes", BAD),
        db_with(datum(encoded=True, data=png(28, 28, grey), label=1),
                "encoded Datum with a valid 28x28 PNG", MAYBE),
        db_with(datum(encoded=True, data=png(28, 28, grey)[:60], label=1),
                "encoded Datum with a PNG truncated to 60 bytes", BAD),
        db_with(datum(encoded=True, data=png(100000, 100000, b"")[:33] + png(1, 1, b"\0")[33:],
                      label=1),
                "encoded PNG whose header says 100000x100000", BAD),
        db_with(b"\xff\xfe\x00garbage that is not a Datum", "a record that is not a Datum", BAD),
        db_with(None, "an LMDB with no records", BAD, count=0),
    ]


# ---------------------------------------------------------------------------
# Class 1: net prototxts to `cortado time` / `cortado test`.


V1_LENET = """name: "LeNetV1"
input: "data"
input_dim: 64
input_dim: 1
input_dim: 28
input_dim: 28
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
  convolution_param { num_output: 20 kernel_size: 5 stride: 1 } }
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "ip1" type: INNER_PRODUCT bottom: "pool1" top: "ip1"
  inner_product_param { num_output: 10 } }
layers { name: "prob" type: SOFTMAX bottom: "ip1" top: "prob" }
"""


def net_cases(fx: Fixtures) -> List[Case]:
    base = (REPO / "models/lenet/lenet.prototxt").read_text()
    lines = base.splitlines(keepends=True)
    cortado = fx.tool("cortado")

    def command(model: Path, k: int) -> List[str]:
        # Every fourth case goes through `test`, which builds the TEST net.
        if k % 4 == 3:
            return [cortado, "test", "--model=%s" % model, "--iterations=1"]
        return [cortado, "time", "--model=%s" % model, "--iterations=1"]

    cases: List[Case] = []

    def add(expect: str, make: Callable[[Path, random.Random], tuple]):
        """`make(dir, rng)` writes net.prototxt and returns (desc, expect or None)."""
        k = len(cases)
        def build(d: Path, rng: random.Random) -> Run:
            desc, override = make(d, rng)
            return Run(command(d / "net.prototxt", k), desc, override)
        cases.append(Case(expect, build))

    def text_case(expect: str, desc: str, text) -> None:
        add(expect, lambda d, rng: (written(d / "net.prototxt", text, desc), None))

    def edited(expect: str, desc: str, *pairs: str) -> None:
        text = base
        for old, new in zip(pairs[::2], pairs[1::2]):
            text = replace_once(text, old, new)
        text_case(expect, desc, text)

    text_case(VALID, "control: models/lenet/lenet.prototxt", base)

    # Random line deletions. A missing comment or name leaves a valid net;
    # anything else (a brace, a type, a top, a shape) breaks it.
    code_lines = [i for i, line in enumerate(lines) if line.strip()]

    def optional_line(line: str) -> bool:
        stripped = line.strip()
        return stripped.startswith("#") or stripped.startswith("name:")

    def delete_line(d, rng):
        i = rng.choice(code_lines)
        write(d / "net.prototxt", "".join(lines[:i] + lines[i + 1:]))
        return ("delete line %d: %s" % (i + 1, lines[i].strip()),
                MAYBE if optional_line(lines[i]) else BAD)

    def duplicate_line(d, rng):
        # Only comments may repeat: every other line is a brace or a singular
        # field, and a second `bottom`/`top` changes a layer's blob count.
        i = rng.choice(code_lines)
        write(d / "net.prototxt", "".join(lines[:i + 1] + lines[i:]))
        return ("duplicate line %d: %s" % (i + 1, lines[i].strip()),
                MAYBE if lines[i].strip().startswith("#") else BAD)

    for _ in range(14):
        add(BAD, delete_line)
    for _ in range(8):
        add(BAD, duplicate_line)

    # Random numbers replaced by out-of-range values.
    numbers = [(m.start(2), m.end(2), m.group(1), m.group(0))
               for m in re.finditer(r"(\w+):\s*(\d+)", base)]
    first_dim = base.index("dim: 64") + len("dim: ")
    values = ["0", "-1", "2147483647", "4294967296", "1e30", "nan"]

    def replace_number(d, rng):
        start, end, field, original = rng.choice(numbers)
        value = rng.choice(values)
        write(d / "net.prototxt", base[:start] + value + base[end:])
        expect = BAD
        if value == "0" and start == first_dim:
            expect = MAYBE  # an empty batch is a legitimate shape
        if value == "2147483647" and field == "stride":
            expect = MAYBE  # a huge stride just gives one output pixel
        return "%s -> %s: %s" % (original, value, field), expect

    for _ in range(20):
        add(BAD, replace_number)

    types = [m.group(0) for m in re.finditer(r'type: "\w+"', base)]

    def unknown_type(d, rng):
        old = rng.choice(types)
        new = rng.choice(['type: "Convolutoin"', 'type: ""', 'type: "convolution"',
                          'type: "%s"' % ("X" * 5000), 'type: "Data\\0"', 'type: CONVOLUTION'])
        write(d / "net.prototxt", base.replace(old, new, 1))
        return "%s -> %s" % (old, new[:40]), None

    for _ in range(4):
        add(BAD, unknown_type)

    def unbalanced(d, rng):
        how = rng.choice(["drop }", "extra {", "extra }", "{ -> <"])
        text = base
        if how == "drop }":
            positions = [i for i, c in enumerate(text) if c == "}"]
            i = rng.choice(positions)
            text = text[:i] + text[i + 1:]
        elif how == "extra {":
            text = text.replace("layer {", "layer { {", 1)
        elif how == "extra }":
            i = rng.choice([i for i, c in enumerate(text) if c == "\n"])
            text = text[:i] + " }" + text[i:]
        else:
            text = text.replace("{", "<", 1)
        write(d / "net.prototxt", text)
        return "unbalanced braces: " + how, None

    for _ in range(6):
        add(BAD, unbalanced)

    def garbage(d, rng):
        size = rng.choice([1, 7, 512, 4096, 65536])
        write(d / "net.prototxt", random_bytes(rng, size))
        return "%d random bytes" % size, None

    for _ in range(3):
        add(BAD, garbage)

    def garbage_line(d, rng):
        # Inserted at the start of a code line, never inside a comment.
        i = rng.choice([i for i in code_lines if not lines[i].strip().startswith("#")])
        junk = random_bytes(rng, rng.randrange(1, 40)).replace(b"\n", b"")
        write(d / "net.prototxt", "".join(lines[:i]).encode() + junk + "".join(lines[i:]).encode())
        return "%d random bytes before line %d" % (len(junk), i + 1), None

    for _ in range(3):
        add(BAD, garbage_line)

    # Files that are not net prototxts at all.
    text_case(BAD, "empty file", b"")
    text_case(BAD, "comments only", "# nothing here\n# at all\n")
    text_case(BAD, "a solver prototxt", (REPO / "models/lenet/lenet_solver.prototxt").read_text())
    text_case(BAD, "a binary caffemodel",
              (REPO / "models/lenet/lenet_fashion_mnist.caffemodel").read_bytes())
    add(BAD, lambda d, rng: (made_dir(d / "net.prototxt", "a directory"), None))
    add(BAD, lambda d, rng: ("a missing path", None))
    text_case(MAYBE, "invalid UTF-8 in a layer name", base.encode().replace(b'name: "conv1"',
                                                                           b'name: "conv\xff1"'))
    text_case(BAD, "bottom names a missing blob",
              base.replace('bottom: "pool1"', 'bottom: "pool9"'))
    text_case(BAD, "conv1 reads prob (a later blob)", base.replace('bottom: "data"',
                                                                   'bottom: "prob"'))
    shape = "dim: 64 dim: 1 dim: 28 dim: 28"
    edited(BAD, "Input shape with 40 axes", shape, " ".join(["dim: 1"] * 40))
    edited(BAD, "Input shape with no axes", "shape: { %s }" % shape, "shape: { }")
    edited(BAD, "Input shape with 3 axes", shape, "dim: 64 dim: 1 dim: 28")
    # Caffe's Input layer gives one shape to every top.
    edited(MAYBE, "Input with two tops and one shape", 'top: "data"', 'top: "data" top: "data2"')

    # Hand-written layer parameters that no net can use.
    conv1 = "num_output: 20 kernel_size: 5 stride: 1"
    conv2 = "num_output: 50 kernel_size: 5 stride: 1"
    pool = "pool: MAX kernel_size: 2 stride: 2 }\n}\nlayer {\n  name: \"conv2\""
    edited(BAD, "conv1 kernel 29 on a 28x28 input", conv1, "num_output: 20 kernel_size: 29")
    edited(BAD, "pool2 kernel 9 on an 8x8 input",
           "pool: MAX kernel_size: 2 stride: 2 }\n}\nlayer {\n  name: \"ip1\"",
           "pool: MAX kernel_size: 9 stride: 2 }\n}\nlayer {\n  name: \"ip1\"")
    edited(MAYBE, "conv1 pad 5 = kernel 5 (valid in Caffe)", conv1, conv1 + " pad: 5")
    edited(BAD, "pool1 pad 2 >= kernel 2", pool, pool.replace("stride: 2", "stride: 2 pad: 2"))
    edited(BAD, "conv1 num_output 0", conv1, conv1.replace("20", "0"))
    edited(BAD, "ip2 num_output 0", "num_output: 10", "num_output: 0")
    edited(BAD, "ip1 num_output 2147483647", "num_output: 500", "num_output: 2147483647")
    edited(BAD, "conv1 stride 0", conv1, conv1.replace("stride: 1", "stride: 0"))
    edited(BAD, "pool1 stride 0", pool, pool.replace("stride: 2", "stride: 0"))
    edited(BAD, "conv2 group 3 (20 channels)", conv2, conv2 + " group: 3")
    edited(BAD, "conv2 group 0", conv2, conv2 + " group: 0")
    edited(MAYBE, "conv2 group 5 (divides 20 and 50)", conv2, conv2 + " group: 5")
    edited(BAD, "conv1 group 2 (1 channel)", conv1, conv1 + " group: 2")
    edited(BAD, "conv1 dilation 0", conv1, conv1 + " dilation: 0")
    edited(BAD, "conv1 dilation 10 (reach 41 > 28)", conv1, conv1 + " dilation: 10")
    edited(BAD, "conv1 kernel_h without kernel_w", conv1, "num_output: 20 kernel_h: 5")
    edited(BAD, "conv1 kernel_size and kernel_h", conv1, conv1 + " kernel_h: 5 kernel_w: 5")
    edited(BAD, "conv1 pad -1", conv1, conv1 + " pad: -1")
    edited(BAD, "pool1 global_pooling with a kernel", pool,
           pool.replace("pool: MAX", "pool: MAX global_pooling: true"))
    edited(BAD, "Softmax axis 5", 'bottom: "ip2"\n  top: "prob"',
           'bottom: "ip2"\n  top: "prob"\n  softmax_param { axis: 5 }')
    edited(BAD, "ip1 axis -5", "num_output: 500", "num_output: 500 axis: -5")
    edited(BAD, "conv1 with 40 kernel_size entries", conv1,
           "num_output: 20 " + " ".join(["kernel_size: 5"] * 40))

    # V1 (`layers { type: ENUM }`) nets go through the upgrader first.
    v1 = V1_LENET
    text_case(MAYBE, "V1 LeNet, well formed", v1)
    text_case(BAD, "V1 CONVOLUTION without convolution_param",
              v1.replace("\n  convolution_param { num_output: 20 kernel_size: 5 stride: 1 }", ""))
    text_case(BAD, "V1 unknown enum type BOGUS", v1.replace("type: POOLING", "type: BOGUS"))
    text_case(BAD, "V1 `layers` mixed with `layer`", v1 + 'layer { name: "r" type: "ReLU" '
              'bottom: "prob" top: "prob" }\n')
    text_case(BAD, "V1 three input_dim for one input", v1.replace("input_dim: 28\n", "", 1))
    text_case(BAD, "V1 POOLING kernel_size 0", v1.replace("pool: MAX kernel_size: 2",
                                                         "pool: MAX kernel_size: 0"))
    text_case(BAD, "V1 CONVOLUTION bottom missing", v1.replace('bottom: "data"', 'bottom: "nope"'))
    text_case(BAD, "V1 input_dim -1", v1.replace("input_dim: 64", "input_dim: -1"))
    text_case(BAD, "V1 two inputs, four input_dim",
              v1.replace('input: "data"', 'input: "data"\ninput: "data2"'))
    text_case(BAD, "V0 layer with kernelsize 0",
              'input: "data"\ninput_dim: 1\ninput_dim: 1\ninput_dim: 28\ninput_dim: 28\n'
              'layers { layer { name: "conv1" type: "conv" num_output: 20 kernelsize: 0 }'
              ' bottom: "data" top: "conv1" }\n')
    return cases


# ---------------------------------------------------------------------------
# Class 2: weights for `cortado test` on the deploy net (and extract_features).


def shape_offsets(fx: Fixtures, data: bytes, shape_groups) -> List[int]:
    """Offsets of the bytes of every serialized BlobShape (field 7 of a
    BlobProto) of the given shapes in `data`."""
    offsets = []
    for shapes in shape_groups:
        for shape in shapes:
            body = fx.pb.BlobShape(dim=shape).SerializeToString()
            record = b"\x3a" + bytes([len(body)]) + body
            start = data.find(record)
            while start >= 0:
                offsets.extend(range(start, start + len(record)))
                start = data.find(record, start + 1)
    return sorted(set(offsets))


def weights_expectation(fx: Fixtures, data: bytes) -> str:
    """MAYBE when every parameter blob of LeNet survives with its shape, so the
    weights still fit (their values may have changed); BAD otherwise."""
    net = fx.pb.NetParameter()
    if not parse_quietly(net, data):
        return BAD
    found = {}
    for layer in net.layer:
        found[layer.name] = [(list(b.shape.dim), len(b.data)) for b in layer.blobs]
    for name, shapes in LENET_PARAMS.items():
        want = [(s, math.prod(s)) for s in shapes]
        if found.get(name) != want:
            return BAD
    return MAYBE


def weights_cases(fx: Fixtures) -> List[Case]:
    cortado = fx.tool("cortado")
    deploy = str(REPO / "models/lenet/lenet.prototxt")
    original = (REPO / "models/lenet/lenet_fashion_mnist.caffemodel").read_bytes()
    cases: List[Case] = []

    def test(path: Path) -> List[str]:
        return [cortado, "test", "--model=%s" % deploy, "--weights=%s" % path, "--iterations=1"]

    def add(expect, make, command=test, name="w.caffemodel"):
        def build(d: Path, rng: random.Random) -> Run:
            desc, override = make(d / name, rng)
            return Run(command(d / name), desc, override)
        cases.append(Case(expect, build))

    def file_case(expect, desc, data, name="w.caffemodel"):
        add(expect, lambda p, rng: (written(p, data, desc), None), name=name)

    def proto_case(expect, desc, edit):
        net = fx.weights()
        copy = fx.pb.NetParameter()
        copy.CopyFrom(net)
        edit(copy)
        file_case(expect, desc, copy.SerializeToString())

    def conv1(net):
        return next(layer for layer in net.layer if layer.name == "conv1")

    file_case(VALID, "control: lenet_fashion_mnist.caffemodel", original)

    def truncate(p, rng):
        cut = rng.randrange(0, len(original))
        data = original[:cut]
        write(p, data)
        return "truncated to %d of %d bytes" % (cut, len(original)), weights_expectation(fx, data)

    def flip(p, rng):
        count = rng.choice([1, 1, 2, 4, 16])
        data, positions = flip_bytes(original, rng, count)
        write(p, data)
        return ("%d byte(s) flipped at %s" % (count, positions[:4]),
                weights_expectation(fx, data))

    # Flips among floats only change values; these hit the structure: the
    # net and first layer headers, and the shape records of the blobs.
    structure = list(range(0, 0x8c)) + shape_offsets(fx, original, LENET_PARAMS.values())

    def flip_structure(p, rng):
        pos = rng.choice(structure)
        out = bytearray(original)
        out[pos] ^= rng.randrange(1, 256)
        write(p, bytes(out))
        return ("byte %d (names/types/shapes) flipped" % pos,
                weights_expectation(fx, bytes(out)))

    for _ in range(8):
        add(BAD, truncate)
    for _ in range(8):
        add(MAYBE, flip)
    for _ in range(8):
        add(MAYBE, flip_structure)
    for _ in range(3):
        add(BAD, lambda p, rng: (write(p, random_bytes(rng, rng.choice([16, 4096, 100000])))
                                 and "random bytes", None))

    file_case(BAD, "empty file", b"")
    add(BAD, lambda p, rng: (made_dir(p, "a directory"), None))
    add(BAD, lambda p, rng: ("a missing path", None))
    file_case(BAD, "fashion_mnist_cnn.caffemodel (another net)",
              (REPO / "models/fashion_mnist_cnn/fashion_mnist_cnn.caffemodel").read_bytes())
    file_case(BAD, "the net prototxt given as weights",
              (REPO / "models/lenet/lenet.prototxt").read_bytes())

    def reshape(net):
        del conv1(net).blobs[0].shape.dim[:]
        conv1(net).blobs[0].shape.dim.extend([20, 1, 5, 4])
        del conv1(net).blobs[0].data[400:]
    proto_case(BAD, "conv1 weights 20x1x5x4", reshape)
    proto_case(BAD, "conv1 weights shape 20x1x5x5 holding 499 floats",
               lambda net: conv1(net).blobs[0].data.pop())
    proto_case(BAD, "conv1 weights with no data",
               lambda net: conv1(net).blobs[0].ClearField("data"))

    def huge(net):
        del conv1(net).blobs[0].shape.dim[:]
        conv1(net).blobs[0].shape.dim.extend([2**31, 2**31])
        conv1(net).blobs[0].ClearField("data")
    proto_case(BAD, "conv1 weights shape 2^31 x 2^31, no data", huge)

    def negative(net):
        conv1(net).blobs[0].shape.dim[0] = -20
    proto_case(BAD, "conv1 weights shape -20x1x5x5", negative)

    def legacy_mismatch(net):
        blob = conv1(net).blobs[0]
        blob.ClearField("shape")
        blob.num, blob.channels, blob.height, blob.width = 20, 1, 5, 6
    proto_case(BAD, "conv1 legacy dims 20x1x5x6 (500 floats)", legacy_mismatch)
    proto_case(BAD, "conv1 with three blobs",
               lambda net: conv1(net).blobs.add().CopyFrom(conv1(net).blobs[1]))
    proto_case(BAD, "conv1 without its bias", lambda net: conv1(net).blobs.pop())
    proto_case(BAD, "conv1 layer removed", lambda net: net.layer.remove(conv1(net)))

    def nan(net):
        conv1(net).blobs[0].data[3] = float("nan")
    proto_case(MAYBE, "a NaN among conv1's weights", nan)

    def as_double(net):
        blob = conv1(net).blobs[0]
        blob.double_data.extend(blob.data)
        blob.ClearField("data")
    proto_case(MAYBE, "conv1 weights in double_data", as_double)
    proto_case(MAYBE, "conv1 twice", lambda net: net.layer.add().CopyFrom(conv1(net)))

    # HDF5 weights, from a one-iteration training run of the same net.
    h5 = fx.hdf5_snapshot()
    if h5 is not None:
        h5_model = h5[0].read_bytes()
        file_case(MAYBE, "HDF5 control: a snapshot of the same net", h5_model, "w.caffemodel.h5")

        def truncate_h5(p, rng):
            cut = rng.randrange(0, len(h5_model))
            write(p, h5_model[:cut])
            return "HDF5 truncated to %d of %d bytes" % (cut, len(h5_model)), None

        def flip_h5(p, rng):
            # HDF5 checksums little of its metadata: most flips go unnoticed.
            data, positions = flip_bytes(h5_model, rng, rng.choice([1, 4]))
            write(p, data)
            return "HDF5 with bytes flipped at %s" % positions, None

        for _ in range(3):
            add(BAD, truncate_h5, name="w.caffemodel.h5")
        for _ in range(4):
            add(MAYBE, flip_h5, name="w.caffemodel.h5")
        file_case(BAD, "HDF5 weights path holding random bytes",
                  random_bytes(random.Random(5), 4096), "w.caffemodel.h5")
        file_case(BAD, "empty HDF5 weights file", b"", "w.caffemodel.h5")
        file_case(BAD, "binary caffemodel named .h5", original, "w.caffemodel.h5")

    # extract_features loads weights through the same code, but by argv.
    def extract(path: Path) -> List[str]:
        return [fx.tool("extract_features"), str(path), deploy, "prob", str(path.parent / "out"),
                "1", "lmdb"]

    add(VALID, lambda p, rng: (written(p, original, "extract_features control"), None), extract)
    for _ in range(3):
        add(BAD, truncate, extract)
    add(BAD, lambda p, rng: (shutil.copy(
        REPO / "models/fashion_mnist_cnn/fashion_mnist_cnn.caffemodel", p) and
        "extract_features: another net's weights", None), extract)
    add(BAD, lambda p, rng: (made_dir(p, "extract_features: weights are a directory"), None),
        extract)
    return cases


# ---------------------------------------------------------------------------
# LMDB corruptions, shared by classes 3 and 7.


def lmdb_corruption_cases(fx: Fixtures, run: Callable[[Path], Run], scale: int = 1,
                          full_db: Optional[Path] = None) -> List[Case]:
    """Copies of a valid LMDB with bytes flipped, pages zeroed or the file cut."""
    cases: List[Case] = []

    def add(expect, corrupt, source: Optional[Path] = None):
        def build(d: Path, rng: random.Random) -> Run:
            db = d / "db"
            db.mkdir()
            src = source or fx.small_lmdb()
            data = (src / "data.mdb").read_bytes()
            # lock.mdb is not copied: LMDB recreates it, and the original's readers
            # table is not part of the corruption.
            desc, new_data = corrupt(data, rng, db)
            if new_data is not None:
                write(db / "data.mdb", new_data)
            r = run(db)
            r.desc = ("full test LMDB: " if source else "LMDB: ") + desc
            return r
        cases.append(Case(expect, build))

    def flip(data, rng, db):
        count = rng.choice([1, 4, 32, 256])
        out, positions = flip_bytes(data, rng, count, 2 * LMDB_PAGE)
        return "%d byte(s) flipped after the meta pages, first at %s" % (count, positions[:3]), out

    def zero_page(data, rng, db):
        pages = len(data) // LMDB_PAGE
        page = rng.randrange(2, pages)
        out = data[:page * LMDB_PAGE] + bytes(LMDB_PAGE) + data[(page + 1) * LMDB_PAGE:]
        return "page %d of %d zeroed" % (page, pages), out

    def garbage_page(data, rng, db):
        pages = len(data) // LMDB_PAGE
        page = rng.randrange(2, pages)
        out = (data[:page * LMDB_PAGE] + random_bytes(rng, LMDB_PAGE) +
               data[(page + 1) * LMDB_PAGE:])
        return "page %d of %d filled with random bytes" % (page, pages), out

    def truncate(data, rng, db):
        cut = rng.randrange(2 * LMDB_PAGE, len(data))
        return "data.mdb truncated to %d of %d bytes" % (cut, len(data)), data[:cut]

    def flip_meta(data, rng, db):
        out, positions = flip_bytes(data[:2 * LMDB_PAGE], rng, 2)
        return "2 bytes flipped in the meta pages at %s" % positions, out + data[2 * LMDB_PAGE:]

    for _ in range(8 * scale):
        add(MAYBE, flip)
    for _ in range(6 * scale):
        add(MAYBE, zero_page)
    for _ in range(4 * scale):
        add(MAYBE, garbage_page)
    for _ in range(5 * scale):
        add(MAYBE, truncate)
    for _ in range(3 * scale):
        add(MAYBE, flip_meta)
    add(BAD, lambda data, rng, db: ("page 0 (first meta) zeroed",
                                    bytes(LMDB_PAGE) + data[LMDB_PAGE:]))
    add(BAD, lambda data, rng, db: ("both meta pages zeroed",
                                    bytes(2 * LMDB_PAGE) + data[2 * LMDB_PAGE:]))
    add(BAD, lambda data, rng, db: ("data.mdb truncated inside the meta pages",
                                    data[:rng.randrange(0, 2 * LMDB_PAGE)]))
    add(BAD, lambda data, rng, db: ("data.mdb of random bytes", random_bytes(rng, len(data))))
    add(BAD, lambda data, rng, db: ("empty data.mdb", b""))
    add(BAD, lambda data, rng, db: ("no data.mdb, empty directory", None))
    add(BAD, lambda data, rng, db: (made_dir(db / "data.mdb", "data.mdb is a directory"), None))
    add(MAYBE, lambda data, rng, db: (
        written(db / "lock.mdb", random_bytes(rng, 8192), "lock.mdb of random bytes"), data))
    if full_db is not None:
        for _ in range(3):
            add(MAYBE, flip, full_db)
        add(MAYBE, truncate, full_db)
    return cases


# ---------------------------------------------------------------------------
# Class 3: corrupted LMDBs read by `cortado test`.


def lmdb_cases(fx: Fixtures) -> List[Case]:
    weights = str(REPO / "models/lenet/lenet_fashion_mnist.caffemodel")

    def run(db: Path) -> Run:
        net = fx.train_test_net(db.parent / "net.prototxt", test_source=db)
        # Two batches of 100 read the whole 200-record fixture.
        return Run([fx.tool("cortado"), "test", "--model=%s" % net, "--weights=%s" % weights,
                    "--iterations=2"], "")

    def control(d: Path, rng) -> Run:
        r = run(fx.small_lmdb())
        r.argv[2] = "--model=%s" % fx.train_test_net(d / "net.prototxt")
        r.desc = "control: the fixture LMDB"
        return r

    full = REPO / "data/fashion_mnist/fashion_mnist_test_lmdb"
    return ([Case(VALID, control)] +
            lmdb_corruption_cases(fx, run, 1, full if (full / "data.mdb").exists() else None) +
            crafted_datum_cases(fx, run, labels_matter=True))


# ---------------------------------------------------------------------------
# Class 4: mean files for the Data layer's transform_param.


def mean_cases(fx: Fixtures) -> List[Case]:
    pb = fx.pb
    weights = str(REPO / "models/lenet/lenet_fashion_mnist.caffemodel")
    cases: List[Case] = []

    def add(expect, make):
        def build(d: Path, rng: random.Random) -> Run:
            mean = d / "mean.binaryproto"
            desc = make(mean, rng)
            net = fx.train_test_net(d / "net.prototxt", mean_file=mean)
            return Run([fx.tool("cortado"), "test", "--model=%s" % net, "--weights=%s" % weights,
                        "--iterations=1"], desc)
        cases.append(Case(expect, build))

    def blob_case(expect, desc, edit=None, **fields):
        def make(path, rng):
            blob = fx.valid_mean()
            if fields:
                blob = pb.BlobProto(**fields)
            if edit:
                edit(blob)
            write(path, blob.SerializeToString())
            return desc
        add(expect, make)

    def file_case(expect, desc, data):
        add(expect, lambda path, rng: written(path, data, desc))

    blob_case(VALID, "control: 1x1x28x28 of 33.0")

    def set_value(value):
        def edit(blob):
            blob.data[123] = value  # any one element will do
        return edit

    blob_case(BAD, "one NaN value", set_value(float("nan")))
    blob_case(BAD, "one +inf value", set_value(float("inf")))
    blob_case(BAD, "one -inf value", set_value(float("-inf")))
    blob_case(BAD, "shape 1x3x28x28", num=1, channels=3, height=28, width=28,
              data=[1.0] * 3 * 784)
    blob_case(BAD, "shape 1x1x32x32", num=1, channels=1, height=32, width=32, data=[1.0] * 1024)
    blob_case(BAD, "shape 2x1x28x28", num=2, channels=1, height=28, width=28, data=[1.0] * 1568)
    blob_case(BAD, "shape 1x1x28x27", num=1, channels=1, height=28, width=27, data=[1.0] * 756)
    blob_case(BAD, "shape (784) with one axis", shape=pb.BlobShape(dim=[784]), data=[1.0] * 784)
    blob_case(MAYBE, "shape 1x28x28 with three axes", shape=pb.BlobShape(dim=[1, 28, 28]),
              data=[1.0] * 784)
    blob_case(BAD, "shape with 40 axes", shape=pb.BlobShape(dim=[1] * 40), data=[1.0])
    blob_case(BAD, "1x1x28x28 holding 783 values", lambda b: b.data.pop())
    blob_case(BAD, "1x1x28x28 holding 785 values", lambda b: b.data.append(1.0))
    blob_case(BAD, "1x1x28x28 with no data", lambda b: b.ClearField("data"))
    blob_case(BAD, "1x1x100000x100000 with no data", num=1, channels=1, height=100000,
              width=100000)
    blob_case(BAD, "1 x (2^31-1)^3 with no data", num=1, channels=2**31 - 1, height=2**31 - 1,
              width=2**31 - 1)
    blob_case(BAD, "shape 1x1x2^40x2^40 with no data",
              shape=pb.BlobShape(dim=[1, 1, 2**40, 2**40]))
    blob_case(BAD, "dims 1x1x-28x28", num=1, channels=1, height=-28, width=28, data=[1.0] * 784)
    blob_case(BAD, "values only in diff", diff=[1.0] * 784, num=1, channels=1, height=28,
              width=28)
    blob_case(MAYBE, "values in double_data", num=1, channels=1, height=28, width=28,
              double_data=[33.0] * 784)

    valid = fx.valid_mean().SerializeToString()

    def truncate(path, rng):
        cut = rng.randrange(0, len(valid))
        write(path, valid[:cut])
        return "truncated to %d of %d bytes" % (cut, len(valid))

    for _ in range(6):
        add(BAD, truncate)
    file_case(BAD, "empty file", b"")
    file_case(BAD, "random bytes", random_bytes(random.Random(4), 3136))
    file_case(BAD, "a text file", "mean: 33\n")
    file_case(BAD, "a caffemodel", (REPO / "models/lenet/lenet_fashion_mnist.caffemodel")
              .read_bytes())
    add(BAD, lambda path, rng: made_dir(path, "a directory"))
    add(BAD, lambda path, rng: "a missing path")
    return cases


# ---------------------------------------------------------------------------
# Class 5: IDX files for convert_mnist.


class Raw(bytes):
    """Bytes written as they are, even into a file named .gz."""


def idx_cases(fx: Fixtures) -> List[Case]:
    count = 50
    pixels, labels = fx.images(count)
    images = idx_file(8, [count, 28, 28], pixels)
    label_file = idx_file(8, [count], labels)
    cases: List[Case] = []

    def add(expect, desc, image_data, label_data, gz=False, out_exists=None):
        def build(d: Path, rng: random.Random) -> Run:
            suffix = ".gz" if gz else ""
            paths = []
            inputs = (("images.idx3-ubyte", image_data), ("labels.idx1-ubyte", label_data))
            for name, data in inputs:
                p = d / (name + suffix)
                if callable(data):
                    data = data(rng)
                if data is None:
                    pass  # a missing file
                elif data == "dir":
                    p.mkdir()
                else:
                    compress = gz and not isinstance(data, Raw)
                    write(p, gzip.compress(data, mtime=0) if compress else data)
                paths.append(str(p))
            out = d / "out_lmdb"
            if out_exists == "file":
                write(out, b"not a database")
            elif out_exists == "db":
                shutil.copytree(fx.small_lmdb(), out)
            elif out_exists == "no parent":
                out = d / "missing" / "deeper" / "out_lmdb"
            return Run([fx.tool("convert_mnist")] + paths + [str(out)],
                       desc + (" (gzip)" if gz else ""))
        cases.append(Case(expect, build))

    add(VALID, "control: 50 images", images, label_file)
    add(VALID, "control: 50 images", images, label_file, gz=True)

    def header(magic_type=8, dims=(count, 28, 28), payload=pixels):
        return idx_file(magic_type, list(dims), payload)

    for _ in range(4):
        add(BAD, "images truncated at a random offset",
            lambda rng: images[:rng.randrange(16, len(images))], label_file)
    add(BAD, "images truncated inside the header", images[:10], label_file)
    for _ in range(3):
        add(BAD, "labels truncated at a random offset", images,
            lambda rng: label_file[:rng.randrange(0, len(label_file))])
    add(BAD, "images with magic 0x00000000", b"\0\0\0\0" + images[4:], label_file)
    add(BAD, "images with the labels' magic (1 dim)", header(8, (count,), pixels), label_file)
    add(BAD, "images with 4 dims", header(8, (count, 28, 28, 1)), label_file)
    add(BAD, "images of type 0x0D (float)", header(0x0D), label_file)
    add(BAD, "images with magic 'GIF8'", b"GIF8" + images[4:], label_file)
    add(BAD, "labels with the images' magic", images, idx_file(8, [count, 1, 1], labels))
    add(BAD, "labels with magic 0xFFFFFFFF", images, b"\xff" * 4 + label_file[4:])
    add(BAD, "50 images, 49 labels", images, idx_file(8, [count - 1], labels[:-1]))
    add(BAD, "49 images, 50 labels", header(8, (count - 1, 28, 28), pixels[:-784]), label_file)
    add(BAD, "header says 51 images, 50 present", header(8, (count + 1, 28, 28)),
        idx_file(8, [count + 1], labels + b"\0"))
    add(BAD, "rows=cols=100000", header(8, (count, 100000, 100000)), label_file)
    add(BAD, "rows=cols=65536 (2^32 pixels)", header(8, (count, 65536, 65536)), label_file)
    add(BAD, "rows=2^31-1", header(8, (count, 2**31 - 1, 28)), label_file)
    add(BAD, "rows=0", header(8, (count, 0, 28), b""), label_file)
    add(BAD, "cols=0", header(8, (count, 28, 0), b""), label_file)
    add(BAD, "count 2^31 in both", header(8, (2**31, 28, 28)), idx_file(8, [2**31], labels))
    add(BAD, "count 0xFFFFFFFF in both", header(8, (2**32 - 1, 28, 28)),
        idx_file(8, [2**32 - 1], labels))
    add(MAYBE, "count 0 in both (empty)", header(8, (0, 28, 28), b""), idx_file(8, [0], b""))
    add(MAYBE, "trailing bytes after the data", images + b"extra", label_file + b"extra")
    add(MAYBE, "labels 200..249", images, idx_file(8, [count], bytes(range(200, 250))))
    add(MAYBE, "1x1 images", header(8, (count, 1, 1), pixels[:count]), label_file)
    add(BAD, "random bytes for both", lambda rng: random_bytes(rng, 4096),
        lambda rng: random_bytes(rng, 64))
    add(BAD, "empty files", b"", b"")
    add(BAD, "empty images file", b"", label_file)
    add(BAD, "images path is a directory", "dir", label_file)
    add(BAD, "labels path missing", images, None)
    add(BAD, "output path is a regular file", images, label_file, out_exists="file")
    add(MAYBE, "output LMDB already exists", images, label_file, out_exists="db")
    add(MAYBE, "output's parent directory missing", images, label_file, out_exists="no parent")

    # Compressed inputs: a cut or damaged deflate stream must not pass as data.
    gz_images = gzip.compress(images, mtime=0)
    for _ in range(3):
        add(BAD, "gzip images truncated",
            lambda rng: Raw(gz_images[:rng.randrange(0, len(gz_images))]),
            Raw(gzip.compress(label_file, mtime=0)), gz=True)
    for _ in range(3):
        add(MAYBE, "gzip images with bytes flipped",
            lambda rng: Raw(flip_bytes(gz_images, rng, 2, 10)[0]),
            Raw(gzip.compress(label_file, mtime=0)), gz=True)
    add(BAD, "gzip of garbage", random_bytes(random.Random(6), 5000), label_file, gz=True)
    add(BAD, "random bytes named .gz", Raw(random_bytes(random.Random(7), 5000)),
        Raw(gzip.compress(label_file, mtime=0)), gz=True)
    return cases


# ---------------------------------------------------------------------------
# Class 6: solver states for `cortado train --snapshot`.


def state_expectation(fx: Fixtures, data: bytes, base) -> tuple:
    """(expectation, iter) for a mutated binary solver state.

    MAYBE when the state still fits LeNet's SGD solver: same history shapes,
    same learned_net, 0 <= iter and a valid records count; the solver then
    runs one iteration past the (possibly changed) iter.
    """
    state = fx.pb.SolverState()
    if not parse_quietly(state, data):
        return BAD, base.iter
    shapes = [(list(h.shape.dim), len(h.data)) for h in state.history]
    want = [(list(h.shape.dim), len(h.data)) for h in base.history]
    records_ok = all(0 <= n <= 2**62 for n in state.data_records_consumed)
    if (shapes == want and state.learned_net == base.learned_net and
        0 <= state.iter < 2**31 - 1 and records_ok):
        return MAYBE, state.iter
    return BAD, base.iter if not 0 <= state.iter < 2**31 - 1 else state.iter


def solverstate_cases(fx: Fixtures) -> List[Case]:
    pb = fx.pb
    state_path = REPO / "models/lenet/snapshots/lenet_iter_5000.solverstate"
    original = state_path.read_bytes()
    base = pb.SolverState()
    base.ParseFromString(original)
    cases: List[Case] = []

    def add(expect, make, name="state.solverstate"):
        """`make(path, rng)` writes the state and returns (desc, expect, max_iter, solver extra)."""
        def build(d: Path, rng: random.Random) -> Run:
            desc, override, max_iter, extra = make(d / name, rng)
            solver = fx.solver(d / "solver.prototxt", max_iter, **extra)
            return Run([fx.tool("cortado"), "train", "--solver=%s" % solver,
                        "--snapshot=%s" % (d / name)], desc, override)
        cases.append(Case(expect, build))

    def state_case(expect, desc, edit, max_iter=None, **extra):
        def make(path, rng):
            state = pb.SolverState()
            state.CopyFrom(base)
            edit(state)
            write(path, state.SerializeToString())
            return desc, None, max_iter or base.iter + 1, extra
        add(expect, make)

    def file_case(expect, desc, data, name="state.solverstate", max_iter=None):
        add(expect, lambda p, rng: (written(p, data, desc), None, max_iter or base.iter + 1, {}),
            name)

    file_case(VALID, "control: lenet_iter_5000.solverstate", original)

    def truncate(p, rng):
        cut = rng.randrange(0, len(original))
        data = original[:cut]
        write(p, data)
        expect, it = state_expectation(fx, data, base)
        return "truncated to %d of %d bytes" % (cut, len(original)), expect, it + 1, {}

    def flip_at(p, rng, pos, where=""):
        out = bytearray(original)
        out[pos] ^= rng.randrange(1, 256)
        write(p, bytes(out))
        expect, it = state_expectation(fx, bytes(out), base)
        return "byte %d%s flipped" % (pos, where), expect, it + 1, {}

    def flip(p, rng, start=0, end=None):
        return flip_at(p, rng, rng.randrange(start, end or len(original)))

    for _ in range(4):
        add(BAD, truncate)
    for _ in range(3):
        add(MAYBE, flip)
    # The header (iter, learned_net) and the history shape records are where
    # a flip changes structure rather than a float.
    structure = list(range(0, 0x3c)) + shape_offsets(
        fx, original, [[list(h.shape.dim) for h in base.history]])

    def flip_structure(p, rng):
        return flip_at(p, rng, rng.choice(structure), " (header/shapes)")

    for _ in range(6):
        add(MAYBE, flip_structure)
    for _ in range(3):
        # The tail holds current_step and data_records_consumed.
        add(MAYBE, lambda p, rng: flip(p, rng, len(original) - 16))

    file_case(BAD, "empty file", b"")
    file_case(BAD, "random bytes", random_bytes(random.Random(8), 4096))
    add(BAD, lambda p, rng: (made_dir(p, "a directory"), None, base.iter + 1, {}))
    add(BAD, lambda p, rng: ("a missing path", None, base.iter + 1, {}))
    other = pb.SolverState()
    other.ParseFromString((REPO / "models/fashion_mnist_cnn/snapshots/"
                           "fashion_mnist_cnn_iter_5600.solverstate").read_bytes())
    other.ClearField("learned_net")  # so the history count is what is checked
    file_case(BAD, "fashion_mnist_cnn's state (32 history blobs, no learned_net)",
              other.SerializeToString(), max_iter=5601)
    file_case(BAD, "a caffemodel given as the state",
              (REPO / "models/lenet/lenet_fashion_mnist.caffemodel").read_bytes())

    def set_iter(value):
        def edit(state):
            state.iter = value
        return edit

    state_case(MAYBE, "iter 2147483647, max_iter 5001", set_iter(2**31 - 1))
    state_case(MAYBE, "iter 2147483647, max_iter 2147483647", set_iter(2**31 - 1),
               max_iter=2**31 - 1)
    state_case(BAD, "iter -1", set_iter(-1))
    state_case(BAD, "iter -2147483648", set_iter(-2**31))

    multistep = 'lr_policy: "multistep"\ngamma: 0.1\nstepvalue: 2000\nstepvalue: 4000'

    def set_step(value):
        def edit(state):
            state.current_step = value
        return edit

    # Cortado recomputes the step from iter, so current_step is informational.
    state_case(MAYBE, "current_step -1 with a multistep solver", set_step(-1), policy=multistep)
    state_case(MAYBE, "current_step 1000 with a multistep solver", set_step(1000),
               policy=multistep)
    state_case(MAYBE, "current_step -2147483648 with a step solver", set_step(-2**31),
               policy='lr_policy: "step"\ngamma: 0.1\nstepsize: 1000')

    def set_records(*values):
        def edit(state):
            del state.data_records_consumed[:]
            state.data_records_consumed.extend(values)
        return edit

    state_case(BAD, "data_records_consumed -1", set_records(-1))
    state_case(BAD, "data_records_consumed -2^63", set_records(-2**63))
    state_case(BAD, "data_records_consumed 2^62+1", set_records(2**62 + 1))
    state_case(MAYBE, "data_records_consumed 2^62", set_records(2**62))
    state_case(MAYBE, "three data_records_consumed for one data layer", set_records(1, 2, 3))
    state_case(MAYBE, "no data_records_consumed", set_records())

    state_case(BAD, "7 history blobs", lambda s: s.history.pop())
    state_case(BAD, "9 history blobs", lambda s: s.history.add().CopyFrom(s.history[0]))

    def swap(state):
        first, second = pb.BlobProto(), pb.BlobProto()
        first.CopyFrom(state.history[0])
        second.CopyFrom(state.history[2])
        state.history[0].CopyFrom(second)
        state.history[2].CopyFrom(first)
    state_case(BAD, "history blobs 0 and 2 swapped", swap)
    state_case(BAD, "history blob 0 with one extra value", lambda s: s.history[0].data.append(0))

    def huge_history(state):
        h = state.history[4]
        h.ClearField("data")
        del h.shape.dim[:]
        h.shape.dim.extend([2**31, 2**31])
    state_case(BAD, "history blob 4 shaped 2^31 x 2^31, no data", huge_history)

    def nan_history(state):
        state.history[0].data[0] = float("nan")
    state_case(MAYBE, "a NaN in history blob 0", nan_history)

    def set_learned(value):
        def edit(state):
            if value is None:
                state.ClearField("learned_net")
            else:
                state.learned_net = value
        return edit

    state_case(BAD, "learned_net missing on disk", set_learned("/nonexistent/x.caffemodel"))
    state_case(BAD, "learned_net is fashion_mnist_cnn's weights",
               set_learned(str(REPO / "models/fashion_mnist_cnn/fashion_mnist_cnn.caffemodel")))
    state_case(BAD, "learned_net is an empty string", set_learned(""))
    state_case(BAD, "learned_net is a directory", set_learned(str(REPO / "models")))
    state_case(BAD, "learned_net is the solverstate itself", set_learned(str(state_path)))
    state_case(MAYBE, "no learned_net", set_learned(None))
    state_case(BAD, "SGD state for an Adam solver", lambda s: None,
               extra='type: "Adam"\nmomentum2: 0.999')

    # HDF5 states, from a one-iteration training run of the same net.
    h5 = fx.hdf5_snapshot()
    if h5 is not None:
        h5_state = h5[1].read_bytes()
        name = "state.solverstate.h5"
        file_case(MAYBE, "HDF5 control: a snapshot of the same net", h5_state, name, max_iter=2)

        def truncate_h5(p, rng):
            cut = rng.randrange(0, len(h5_state))
            write(p, h5_state[:cut])
            return "HDF5 truncated to %d of %d bytes" % (cut, len(h5_state)), None, 2, {}

        def flip_h5(p, rng):
            data, positions = flip_bytes(h5_state, rng, rng.choice([1, 4]))
            write(p, data)
            return "HDF5 with bytes flipped at %s" % positions, None, 2, {}

        for _ in range(3):
            add(BAD, truncate_h5, name)
        for _ in range(3):
            add(MAYBE, flip_h5, name)
        file_case(BAD, "HDF5 state path holding random bytes",
                  random_bytes(random.Random(9), 4096), name, max_iter=2)
        file_case(BAD, "binary solverstate named .h5", original, name)
    return cases


# ---------------------------------------------------------------------------
# Class 7: compute_image_mean on corrupted and crafted LMDBs.


def image_mean_cases(fx: Fixtures) -> List[Case]:
    def run(db: Path) -> Run:
        mean = db.parent / "mean.binaryproto"
        return Run([fx.tool("compute_image_mean"), str(db), str(mean)], "")

    def control(d: Path, rng) -> Run:
        r = run(fx.small_lmdb())
        r.argv[2] = str(d / "mean.binaryproto")
        r.desc = "control: the fixture LMDB"
        return r

    def output_dir(d: Path, rng) -> Run:
        (d / "out").mkdir()
        return Run([fx.tool("compute_image_mean"), str(fx.small_lmdb()), str(d / "out")],
                   "output path is a directory")

    return ([Case(VALID, control), Case(BAD, output_dir)] +
            lmdb_corruption_cases(fx, run) + crafted_datum_cases(fx, run, labels_matter=False))


CLASSES: Dict[str, tuple] = {
    "nets": ("1. net prototxt (cortado time/test)", net_cases),
    "weights": ("2. weights (cortado test, extract_features)", weights_cases),
    "lmdb": ("3. LMDB (cortado test)", lmdb_cases),
    "mean": ("4. mean file (cortado test)", mean_cases),
    "idx": ("5. IDX (convert_mnist)", idx_cases),
    "solverstate": ("6. solverstate (cortado train)", solverstate_cases),
    "image_mean": ("7. LMDB (compute_image_mean)", image_mean_cases),
}


# ---------------------------------------------------------------------------
# Driver.


def run_class(key: str, fx: Fixtures, args, work: Path) -> List[Result]:
    title, make_cases = CLASSES[key]
    cases = make_cases(fx)
    results = []
    started = time.monotonic()
    for index, case in enumerate(cases):
        if args.quick and index % 5 != 0:
            continue
        case_dir = work / key / ("%03d" % index)
        shutil.rmtree(case_dir, ignore_errors=True)
        case_dir.mkdir(parents=True)
        rng = random.Random("%d/%s/%d" % (args.seed, key, index))
        run = case.build(case_dir, rng)
        expect = run.expect or case.expect
        t0 = time.monotonic()
        code, timed_out, stderr = execute(run.argv, args.memory_mib)
        tool = Path(run.argv[0]).name
        outcome = classify(tool, code, timed_out, stderr, expect)
        if expect == VALID and outcome != ACCEPTED:
            outcome = "control failed"
        last = last_nonempty_line(stderr)[:300]
        if timed_out:
            last = "[timed out after %d s] %s" % (TIMEOUT_S, last)
        elif code < 0:
            last = "[killed by %s] %s" % (signal.Signals(-code).name, last)
        result = Result(key, index, run.desc, expect, outcome, code, last, time.monotonic() - t0)
        results.append(result)
        if args.verbose:
            print("  %s #%d [%s] %s -> %s: %s" % (key, index, expect, run.desc, outcome,
                                                   result.last_line[:120]), file=sys.stderr)
        keep = args.keep and (outcome in FAILURES or outcome in (UNCLEAR, "control failed"))
        if keep:
            write(case_dir / "repro.sh", "#!/bin/sh\n# %s (%s)\ncd %s && %s\n" % (
                run.desc, outcome, shlex.quote(str(REPO)), shlex.join(run.argv)))
            write(case_dir / "stderr.txt", stderr)
        else:
            shutil.rmtree(case_dir, ignore_errors=True)
    print("%-44s %4d cases %6.1f s" % (title, len(results), time.monotonic() - started),
          file=sys.stderr)
    return results


def pick_examples(results: List[Result], count: int) -> List[Result]:
    """Up to `count` results, one per distinct failure message first, so that
    a second kind of crash is not hidden behind three of the first kind."""
    def signature(r: Result) -> str:
        return re.sub(r"[0-9]+|/\S+", "#", r.last_line)
    seen, first, rest = set(), [], []
    for r in results:
        (rest if signature(r) in seen else first).append(r)
        seen.add(signature(r))
    return sorted((first + rest)[:count], key=lambda r: r.index)


def report(results: List[Result], keys: List[str]) -> int:
    """Prints the Markdown table and examples; returns the exit status."""
    print("| class | cases | %s |" % " | ".join(OUTCOMES))
    print("|---|---:|%s|" % "|".join(["---:"] * len(OUTCOMES)))
    for key in keys:
        mine = [r for r in results if r.cls == key]
        counts = [sum(r.outcome == o for r in mine) for o in OUTCOMES]
        print("| %s | %d | %s |" % (CLASSES[key][0], len(mine), " | ".join(map(str, counts))))
    total = [sum(r.outcome == o for r in results) for o in OUTCOMES]
    print("| **total** | %d | %s |" % (len(results), " | ".join(map(str, total))))

    status = 0
    for outcome in [CRASH, HANG, EXIT0_BAD, UNCLEAR, "control failed"]:
        for key in keys:
            bad = [r for r in results if r.cls == key and r.outcome == outcome]
            if not bad:
                continue
            print("\n**%s: %s** (%d)" % (CLASSES[key][0], outcome, len(bad)))
            for r in pick_examples(bad, 3):
                print("- #%d %s (rc %s): `%s`" % (r.index, r.desc, r.returncode, r.last_line[:200]))
        if any(r.outcome == outcome for r in results):
            if outcome == "control failed":
                status = 2
            elif outcome in FAILURES and status == 0:
                status = 1
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--quick", action="store_true", help="run every 5th case")
    parser.add_argument("--keep", metavar="DIR",
                        help="build cases under DIR and keep the failing ones there")
    parser.add_argument("--only", metavar="CLASSES",
                        help="comma-separated subset of: " + ", ".join(CLASSES))
    parser.add_argument("--build-dir", default=str(REPO / "build"),
                        help="where the tools are (default: build/)")
    parser.add_argument("--memory-mib", type=int, default=4096,
                        help="heap (RLIMIT_DATA) limit per tool run, MiB (0: none; raise it for "
                             "sanitizer builds)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args()

    keys = list(CLASSES)
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        unknown = [k for k in keys if k not in CLASSES]
        if unknown:
            parser.error("unknown class(es) %s; choose from %s" % (unknown, ", ".join(CLASSES)))
    build_dir = Path(args.build_dir).resolve()
    for tool in ("cortado", "convert_mnist", "compute_image_mean", "extract_features"):
        if not (build_dir / tool).exists():
            parser.error("%s is missing; build first or pass --build-dir" % (build_dir / tool))

    if args.keep:
        work = Path(args.keep).resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="cortado_bad_inputs_"))
    fx = Fixtures(work / "fixtures", build_dir, args.memory_mib)
    if fx.lmdb is None:
        print("bad_inputs: liblmdb not found; skipping the hand-crafted LMDB cases",
              file=sys.stderr)

    started = time.monotonic()
    results: List[Result] = []
    try:
        for key in keys:
            results += run_class(key, fx, args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    status = report(results, keys)
    print("\n%d cases in %.0f s (seed %d%s)" % (len(results), time.monotonic() - started,
                                               args.seed, ", quick" if args.quick else ""))
    return status


if __name__ == "__main__":
    sys.exit(main())
