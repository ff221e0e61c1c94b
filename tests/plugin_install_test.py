"""The installed package end to end: `cmake --install` into a temporary
prefix, every public header compiled on its own (pkg-config flags, no CUDA
include path), examples/plugin built there with find_package(Cortado), the
plugin loaded by `cortado` (--plugin, CORTADO_PLUGIN_PATH) and by Python,
the loader's errors, a few training iterations of a net that uses it, its
gradient check, and a program linked against the static library.

usage: plugin_install_test.py BUILD_DIR SOURCE_DIR
"""
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUILD, SOURCE = (os.path.abspath(p) for p in sys.argv[1:3])
# The internal headers that must stay out of the installed tree.
INTERNAL = ('cuda.hpp', 'host_device.hpp', 'math_gpu.hpp', 'im2col_gpu.hpp', 'layer_origin.hpp')

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print('FAIL:', message)


def run(cmd, env=None, cwd=None, expect_ok=True):
    result = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if expect_ok and result.returncode != 0:
        sys.exit('command failed (%d): %s\n%s' % (result.returncode, ' '.join(cmd), result.stdout))
    return result


def main():
    tmp = tempfile.mkdtemp(prefix='cortado-install-')
    try:
        test(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        sys.exit('%d check(s) failed' % len(failures))
    print('all install and plugin checks passed')


def test(tmp):
    prefix = os.path.join(tmp, 'prefix')
    run(['cmake', '--install', BUILD, '--prefix', prefix])
    libdir = next(d for d in ('lib', 'lib64', 'lib/x86_64-linux-gnu')
                  if os.path.exists(os.path.join(prefix, d, 'pkgconfig', 'cortado.pc')))
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, libdir, 'pkgconfig'))
    env.pop('CORTADO_PLUGIN_PATH', None)
    for name in ('libcortado.so', 'libcortado.a'):
        check(os.path.exists(os.path.join(prefix, libdir, name)), 'installed ' + name)
    cortado = os.path.join(prefix, 'bin', 'cortado')
    check(os.access(cortado, os.X_OK), 'installed bin/cortado')

    check_headers(prefix, env)

    # The plugin, built with find_package(Cortado) against the prefix.
    plugin_build = os.path.join(tmp, 'plugin-build')
    start = time.monotonic()
    run(['cmake', '-S', os.path.join(SOURCE, 'examples', 'plugin'), '-B', plugin_build,
         '-DCMAKE_PREFIX_PATH=' + prefix, '-DCMAKE_BUILD_TYPE=Release',
         '-DCORTADO_GRADIENT_CHECKER_DIR=' + os.path.join(SOURCE, 'tests')], env=env)
    run(['cmake', '--build', plugin_build, '--target', 'scaled_tanh', '-j2'], env=env)
    built = time.monotonic()
    plugin = os.path.join(plugin_build, 'libscaled_tanh.so')
    listing = run([cortado, 'layers', '--plugin=' + plugin], env=env).stdout
    loaded = time.monotonic()
    print('plugin example: configure + build %.1f s, `cortado layers --plugin` %.2f s'
          % (built - start, loaded - built))
    line = next((l for l in listing.splitlines() if l.startswith('ScaledTanh ')), '')
    check('(plugin %s)' % plugin in line, 'cortado layers shows ScaledTanh from the plugin: ' + line)
    check(re.search(r'^ReLU\s', listing, re.M) is not None, 'built-ins still listed')
    listing = run([cortado, 'layers'], env=dict(env, CORTADO_PLUGIN_PATH='::' + plugin)).stdout
    check('ScaledTanh' in listing, 'CORTADO_PLUGIN_PATH loads the plugin')
    listing = run([cortado, 'layers'], env=env).stdout
    check('ScaledTanh' not in listing, 'no plugin, no ScaledTanh')

    check_errors(tmp, prefix, cortado, plugin, env)
    check_training(tmp, cortado, plugin, env)
    check_python(prefix, plugin, env)

    # The gradient check (and CUDA-vs-CPU comparison when a GPU is present).
    run(['cmake', '--build', plugin_build, '--target', 'scaled_tanh_test', '-j2'], env=env)
    result = run([os.path.join(plugin_build, 'scaled_tanh_test'), plugin], env=env,
                 expect_ok=False)
    print(result.stdout[-1500:])
    check(result.returncode == 0, 'scaled_tanh_test passes')
    check('GradientsMatchFiniteDifferences' in result.stdout, 'the gradient check ran')

    check_static_program(tmp, prefix, env)


def check_headers(prefix, env):
    include = os.path.join(prefix, 'include', 'cortado')
    headers = sorted(os.path.basename(h) for h in glob.glob(os.path.join(include, '*.h*')))
    check('caffe.pb.h' in headers and 'plugin.hpp' in headers and 'version.hpp' in headers,
          'caffe.pb.h, plugin.hpp and version.hpp installed')
    for name in INTERNAL:
        check(name not in headers, 'internal header %s is not installed' % name)
    cflags = run(['pkg-config', '--cflags', 'cortado'], env=env).stdout.split()
    check(not any('cuda' in flag.lower() for flag in cflags), 'no CUDA in pkg-config flags')
    for name in headers:
        text = open(os.path.join(include, name)).read()
        check(re.search(r'#include\s*[<"](cuda|cudnn|cublas|nccl|curand)', text) is None,
              '%s includes no CUDA header' % name)

    # Each header on its own: self-contained, and compiling without any CUDA
    # include path proves it reaches no CUDA header indirectly either.
    def compile_one(name):
        result = subprocess.run(['c++', '-std=c++17', '-fsyntax-only', '-x', 'c++', '-']
                                + cflags, input='#include <cortado/%s>\n' % name, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return name, result.returncode, result.stdout
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for name, code, output in pool.map(compile_one, [h for h in headers if h.endswith('.hpp')]):
            check(code == 0, 'header %s compiles on its own:\n%s' % (name, output[-2000:]))


def check_errors(tmp, prefix, cortado, plugin, env):
    def error_of(*plugins):
        result = run([cortado, 'layers'] + ['--plugin=' + p for p in plugins], env=env,
                     expect_ok=False)
        check(result.returncode != 0, 'plugins %s are refused' % (plugins,))
        return result.stdout
    missing = os.path.join(tmp, 'missing.so')
    out = error_of(missing)
    check("plugin '%s': no such file" % missing in out, 'missing file: ' + out)
    libcortado = glob.glob(os.path.join(prefix, 'lib*', 'libcortado.so'))[0]
    out = error_of(libcortado)
    check("no 'cortado_plugin_version' symbol" in out, 'no entry symbol: ' + out)
    # A plugin that claims another Cortado version.
    old = os.path.join(tmp, 'old_plugin.so')
    source = os.path.join(tmp, 'old_plugin.cpp')
    with open(source, 'w') as f:
        f.write('extern "C" int cortado_plugin_version() { return 907; }\n'
                'extern "C" void cortado_plugin_register() {}\n')
    run(['c++', '-shared', '-fPIC', '-o', old, source])
    out = error_of(old)
    check('was built against Cortado 0.9.7, but this is Cortado' in out, 'version: ' + out)
    # The same type from two files, and a built-in type name from a plugin
    # (compiled with pkg-config's flags: the .pc file is exercised too).
    copy = os.path.join(tmp, 'copy_of_scaled_tanh.so')
    shutil.copy(plugin, copy)
    out = error_of(plugin, copy)
    check("plugin '%s': layer type 'ScaledTanh' is already registered (by plugin '%s')"
          % (copy, plugin) in out, 'duplicate type: ' + out)
    relu = os.path.join(tmp, 'relu_plugin.so')
    source = os.path.join(tmp, 'relu_plugin.cpp')
    with open(source, 'w') as f:
        f.write('#include <cortado/plugin.hpp>\n'
                'CORTADO_PLUGIN_ENTRY {\n'
                '  cortado::LayerRegistry::Add("ReLU", nullptr, cortado::kLayerCpu);\n}\n')
    flags = run(['pkg-config', '--cflags', '--libs', 'cortado'], env=env).stdout.split()
    run(['c++', '-std=c++17', '-shared', '-fPIC', '-o', relu, source] + flags)
    out = error_of(relu)
    check("layer type 'ReLU' is already registered (built-in)" in out, 'built-in name: ' + out)
    check(run([cortado, 'layers', '--plugin=' + plugin, '--plugin=' + plugin], env=env,
              expect_ok=False).returncode == 0, 'the same file twice loads once')


NET = """name: "plugin_net"
layer { name: "data" type: "DummyData" top: "data" top: "label"
  dummy_data_param { shape { dim: 16 dim: 8 } shape { dim: 16 }
    data_filler { type: "gaussian" std: 1 } data_filler { type: "constant" value: 1 } } }
layer { name: "fc1" type: "InnerProduct" bottom: "data" top: "fc1"
  inner_product_param { num_output: 6 weight_filler { type: "xavier" } } }
layer { name: "act" type: "ScaledTanh" bottom: "fc1" top: "act"
  scale_param { filler { type: "constant" value: 0.5 } } }
layer { name: "fc2" type: "InnerProduct" bottom: "act" top: "fc2"
  inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc2" bottom: "label" top: "loss" }
"""


def check_training(tmp, cortado, plugin, env):
    net = os.path.join(tmp, 'net.prototxt')
    solver = os.path.join(tmp, 'solver.prototxt')
    with open(net, 'w') as f:
        f.write(NET)
    with open(solver, 'w') as f:
        f.write('net: "%s"\nbase_lr: 0.2\nmomentum: 0.9\nlr_policy: "fixed"\ndisplay: 1\n'
                'max_iter: 30\nsnapshot_after_train: false\nrandom_seed: 5\n' % net)
    result = run([cortado, 'train', '--solver=' + solver, '--plugin=' + plugin], env=env,
                 expect_ok=False)
    check(result.returncode == 0, 'cortado train with the plugin:\n' + result.stdout[-3000:])
    # Caffe's wording: "Iteration 5 (12.3 iter/s, 0.1s/1 iters), loss = 0.5".
    pattern = r'Iteration \d+(?: \([^)]*\))?, loss = ([-+.\deE]+)'
    losses = [float(x) for x in re.findall(pattern, result.stdout)]
    check(len(losses) >= 20, 'training logged its losses: %s' % losses)
    if losses:
        # Every label is 1: the net learns it quickly, through the plugin's
        # gradients (ScaledTanh sits between the two InnerProducts).
        check(losses[-1] < 0.5 * losses[0], 'loss falls from %g to %g' % (losses[0], losses[-1]))


def check_python(prefix, plugin, env):
    site = glob.glob(os.path.join(prefix, 'lib*', 'python3*', '*-packages'))
    if not site or not os.path.isdir(os.path.join(site[0], 'caffe')):
        print('no Python package in this build: Python checks not run')
        return
    script = """
import numpy as np, caffe, cortado, tempfile, os
assert 'ScaledTanh' not in caffe.layer_type_list()
caffe.load_plugin(%r)
assert 'ScaledTanh' in caffe.layer_type_list()
assert cortado.layer_origin('ScaledTanh') == %r
net_file = os.path.join(tempfile.mkdtemp(), 'net.prototxt')
open(net_file, 'w').write('''input: "x" input_shape { dim: 2 dim: 3 }
layer { name: "st" type: "ScaledTanh" bottom: "x" top: "y"
  scale_param { filler { type: "constant" value: 2 } } }''')
net = caffe.Net(net_file, caffe.TEST)
x = np.array([[0.1, -0.5, 2.0], [1.0, 0.0, -3.0]], dtype=np.float32)
net.blobs['x'].data[...] = x
y = net.forward()['y']
assert np.allclose(y, 2 * np.tanh(x), rtol=1e-5, atol=1e-6), y
try:
    caffe.load_plugin('/nonexistent/plugin.so')
    raise SystemExit('a missing plugin did not raise')
except caffe.Error as e:
    assert 'no such file' in str(e), e
print('python plugin checks passed')
""" % (plugin, plugin)
    python_env = dict(env, PYTHONPATH=site[0], PYTHONDONTWRITEBYTECODE='1')
    result = run(['/usr/bin/python3', '-c', script], env=python_env, expect_ok=False)
    check(result.returncode == 0 and 'python plugin checks passed' in result.stdout,
          'caffe.load_plugin:\n' + result.stdout[-3000:])
    result = run(['/usr/bin/python3', '-c',
                  'import caffe; assert "ScaledTanh" in caffe.layer_type_list()'],
                 env=dict(python_env, CORTADO_PLUGIN_PATH=plugin), expect_ok=False)
    check(result.returncode == 0, 'CORTADO_PLUGIN_PATH in Python:\n' + result.stdout[-2000:])


APP = """// Lists the built-in layer types of the library it is linked against.
#include <cstdio>
#include <cortado/layer_registry.hpp>
int main() {
  std::printf("%zu types\\n", cortado::LayerRegistry::Types().size());
  return cortado::LayerRegistry::Has("Convolution") ? 0 : 1;
}
"""


def check_static_program(tmp, prefix, env):
    # find_package(Cortado) for programs: the shared and the static library
    # must offer the same registered types.
    app = os.path.join(tmp, 'app')
    os.makedirs(app)
    with open(os.path.join(app, 'main.cpp'), 'w') as f:
        f.write(APP)
    with open(os.path.join(app, 'CMakeLists.txt'), 'w') as f:
        f.write('cmake_minimum_required(VERSION 3.18)\nproject(app CXX)\n'
                'set(CMAKE_CXX_STANDARD 17)\nfind_package(Cortado 0.1 REQUIRED)\n'
                'add_executable(app_shared main.cpp)\n'
                'target_link_libraries(app_shared PRIVATE Cortado::cortado)\n'
                'add_executable(app_static main.cpp)\n'
                'target_link_libraries(app_static PRIVATE Cortado::cortado_static)\n')
    run(['cmake', '-S', app, '-B', os.path.join(app, 'build'), '-DCMAKE_PREFIX_PATH=' + prefix],
        env=env)
    run(['cmake', '--build', os.path.join(app, 'build'), '-j2'], env=env)
    counts = [run([os.path.join(app, 'build', name)], env=env).stdout
              for name in ('app_shared', 'app_static')]
    check(counts[0] == counts[1] and int(counts[0].split()[0]) > 50,
          'shared and static libraries register the same types: %s' % counts)


if __name__ == '__main__':
    main()
