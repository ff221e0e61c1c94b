"""pycaffe's multi-GPU names, and a Python script trained data-parallel by mpirun."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import caffe
from cortado import _cortado
from conftest import REPO, TRAIN_NET, write


def test_solver_count_and_rank_are_settable_and_checked():
    assert caffe.solver_count() == 1 and caffe.solver_rank() == 0
    try:
        caffe.set_solver_count(4)
        caffe.set_solver_rank(3)
        caffe.set_multiprocess(True)
        assert caffe.solver_count() == 4
        assert caffe.solver_rank() == 3
        with pytest.raises(ValueError):
            caffe.set_solver_count(0)
        with pytest.raises(ValueError):
            caffe.set_solver_rank(-1)
    finally:
        caffe.set_solver_count(1)
        caffe.set_solver_rank(0)
        caffe.set_multiprocess(False)


def test_nccl_needs_gpu_mode(tmp_path):
    net = write(tmp_path / 'net.prototxt', TRAIN_NET)
    solver = caffe.SGDSolver(write(tmp_path / 'solver.prototxt',
                                   'net: "%s"\nbase_lr: 0.1\nlr_policy: "fixed"\n' % net))
    caffe.set_mode_cpu()
    with pytest.raises(RuntimeError, match='set_mode_gpu'):
        caffe.NCCL(solver, b'\0' * 128)
    # add_callback takes callables too (test_pycaffe_api.py tests them), not other things.
    with pytest.raises(TypeError, match='callable'):
        solver.add_callback(object(), None)


def test_script_under_mpirun_trains_data_parallel(tmp_path):
    mpirun = shutil.which('mpirun')
    if not _cortado.mpi_built() or mpirun is None:
        pytest.skip('this build has no MPI (install libopenmpi-dev openmpi-bin)')
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT='1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM='1',
               CORTADO_NUM_THREADS='1')
    script = os.path.join(REPO, 'python', 'tests', 'scripts', 'data_parallel_script.py')
    run = subprocess.run([mpirun, '--allow-run-as-root', '--oversubscribe', '-np', '2',
                          sys.executable, script, str(tmp_path)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    ranks = [json.load(open(str(tmp_path / ('rank%d.json' % r)))) for r in (0, 1)]
    assert [r['rank'] for r in ranks] == [0, 1]
    assert all(r['count'] == 2 and r['iter'] == 20 for r in ranks)
    # Different data on each rank, identical weights after averaging.
    assert ranks[0]['first_input'] != ranks[1]['first_input']
    assert ranks[0]['params'] == ranks[1]['params']
