#!/usr/bin/python3
"""Packs a CUDA build of Cortado into one archive that runs on the lent GPU
machine, which has CUDA, cuDNN (PyTorch's) and Python but none of protobuf,
glog, gflags, LMDB, HDF5, OpenBLAS or OpenCV.

The archive holds the programs (cortado, cortado_tests, convert_mnist), every
shared library they load that the GPU machine lacks, the prototxt files of
../shared/conformance (weights stay behind) and a Fashion-MNIST subset. CUDA's
own libraries and the C/C++ runtime are left out: the GPU machine's match its
driver. OpenCV's image reader links GDAL and GDCM (GIS and DICOM formats, some
150 MB of libraries Cortado never calls); they are replaced by stub libraries
whose functions return 0, so the archive fits the device tool's 64 MiB carry.

Usage: bench/device_bundle.py [--build=build] [--out=device_bundle.tar.xz]
bench/gpu_bench.sh unpacks and uses it on the GPU machine."""
import argparse
import gzip
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile

PROGRAMS = ["cortado", "cortado_tests", "convert_mnist"]
LIBRARY_DIRS = ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"]
# Provided by the GPU machine: the C and C++ runtimes and CUDA's libraries.
FROM_TARGET = re.compile(r"^(libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|ld-linux|"
                         r"libstdc\+\+|libgcc_s|libcuda\.|libcudart|libcublas|libcudnn|libnvrtc)")
STUBBED = re.compile(r"^lib(gdal|gdcm)")
TRAIN_SUBSET = 20000  # training images carried; the full 10,000 test images go too
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"\(NEEDED\).*\[(.*)\]", out)


def resolve(name):
    for d in LIBRARY_DIRS:
        candidate = os.path.join(d, name)
        if os.path.exists(candidate):
            return candidate
    sys.exit(f"device_bundle.py: cannot find {name} in {LIBRARY_DIRS}")


def closure(programs):
    """Libraries to carry (name -> path) and names to stub."""
    carried, stubs, stack = {}, set(), list(programs)
    while stack:
        for name in needed(stack.pop()):
            if FROM_TARGET.match(name):
                continue
            if STUBBED.match(name):
                stubs.add(name)
            elif name not in carried:
                carried[name] = resolve(name)
                stack.append(carried[name])
    return carried, stubs


def dynamic_symbols(path, defined):
    flag = "--defined-only" if defined else "--undefined-only"
    out = subprocess.run(["nm", "-D", flag, "--format=posix", path], capture_output=True,
                         text=True, check=True).stdout
    return {line.split()[0].split("@")[0] for line in out.splitlines() if line.strip()}


def make_stub(name, importers, out_dir):
    """A library named `name` defining every symbol the carried objects import
    from the real one as a function that returns 0: OpenCV probes its DICOM
    reader while looking for a decoder, and "no" is the right answer there."""
    real = resolve(name)
    wanted = set()
    for path in importers:
        wanted |= dynamic_symbols(path, defined=False)
    symbols = sorted(wanted & dynamic_symbols(real, defined=True))
    with tempfile.TemporaryDirectory() as tmp:
        asm = os.path.join(tmp, "stub.S")
        with open(asm, "w") as f:
            f.write(".text\n")
            for s in symbols:
                f.write(f'.globl "{s}"\n.type "{s}", @function\n"{s}":\n  xor %eax, %eax\n  ret\n')
        subprocess.run(["gcc", "-shared", "-nostdlib", "-o", os.path.join(out_dir, name),
                        f"-Wl,-soname,{name}", asm], check=True)
    return len(symbols)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        return f.read()


def subset_idx(data, count):
    """The first `count` records of an IDX file, with its header's count fixed."""
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    record = 1
    for d in shape[1:]:
        record *= d
    header = data[:4] + struct.pack(">I", count) + data[8:4 + 4 * dims]
    return header + data[4 + 4 * dims:4 + 4 * dims + count * record]


def add_fashion_mnist(stage):
    out = os.path.join(stage, "fashion-mnist")
    os.makedirs(out)
    for base in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        data = read_idx(os.path.join(FASHION_MNIST, base + ".gz"))
        if base.startswith("train"):
            data = subset_idx(data, TRAIN_SUBSET)
        with gzip.open(os.path.join(out, base + ".gz"), "wb", compresslevel=9) as f:
            f.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--out", default="device_bundle.tar.xz")
    args = parser.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cache = open(os.path.join(args.build, "CMakeCache.txt")).read()
    linked = subprocess.run(["ldd", os.path.join(args.build, "cortado")], capture_output=True,
                            text=True).stdout
    if "libcudart" not in linked:
        sys.exit("device_bundle.py: the build has no CUDA backend (is /usr/local/cuda there?)")
    source_dir = re.search(r"CMAKE_HOME_DIRECTORY:INTERNAL=(.*)", cache).group(1)
    programs = [os.path.join(args.build, p) for p in PROGRAMS]
    carried, stubs = closure(programs)

    with tempfile.TemporaryDirectory() as stage:
        os.makedirs(os.path.join(stage, "bin"))
        os.makedirs(os.path.join(stage, "lib"))
        for p in programs:
            shutil.copy2(p, os.path.join(stage, "bin"))
        for name, path in carried.items():
            shutil.copy2(os.path.realpath(path), os.path.join(stage, "lib", name))
        importers = programs + list(carried.values())
        stub_counts = {name: make_stub(name, importers, os.path.join(stage, "lib"))
                       for name in sorted(stubs)}
        conformance = os.path.join(os.path.dirname(repo), "shared", "conformance")
        for root, _, files in os.walk(conformance):
            for f in files:
                if f.endswith(".prototxt"):
                    rel = os.path.relpath(os.path.join(root, f), conformance)
                    os.makedirs(os.path.join(stage, "conformance", os.path.dirname(rel)),
                                exist_ok=True)
                    shutil.copy2(os.path.join(root, f), os.path.join(stage, "conformance", rel))
        add_fashion_mnist(stage)
        with open(os.path.join(stage, "SOURCE_DIR"), "w") as f:
            f.write(source_dir + "\n")
        with tarfile.open(args.out + ".partial", "w:xz", preset=6) as tar:
            tar.add(stage, arcname="device_bundle")
        os.replace(args.out + ".partial", args.out)
    size = os.path.getsize(args.out) / 2**20
    print(f"{args.out}: {size:.1f} MiB; {len(carried)} libraries carried; stubs: "
          + ", ".join(f"{k} ({v} symbols)" for k, v in stub_counts.items()))
    if size > 60:
        sys.exit("device_bundle.py: over 60 MiB; the device tool carries 64 MiB in all")


if __name__ == "__main__":
    main()
